import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SessionEvent, Telemetry } from '@evmon/contracts'
import { RPCServer, type RPCClient } from 'ocpp-rpc'
import { afterEach, expect, test } from 'vitest'
import type { GatewayConfig } from '../src/config.ts'
import { Stack } from './harness.ts'

const UPSTREAM_PASSWORD = 'the-operators-own-password'

/** The operator's existing central system: a real ocpp-rpc server that records every frame it sees. */
async function upstreamServer(port = 0) {
  const frames: { dir: 'in' | 'out'; text: string }[] = []
  const server = new RPCServer({ protocols: ['ocpp1.6', 'ocpp2.0.1'], strictMode: true })
  server.auth((accept, reject, handshake) => {
    if (handshake.password?.toString() === UPSTREAM_PASSWORD) accept({})
    else reject(401, 'Unauthorized')
  })
  const clients: RPCClient[] = []
  server.on('client', (client: RPCClient) => {
    clients.push(client)
    client.on('message', ({ message, outbound }: { message: string; outbound: boolean }) =>
      frames.push({ dir: outbound ? 'out' : 'in', text: message.toString() }),
    )
    client.handle('BootNotification', async () => ({
      status: 'Accepted',
      currentTime: new Date().toISOString(),
      interval: 900,
    }))
    client.handle('StatusNotification', async () => ({}))
    client.handle('MeterValues', async () => ({}))
    client.handle('StartTransaction', async () => ({
      transactionId: 4242,
      idTagInfo: { status: 'Accepted' },
    }))
    client.handle('StopTransaction', async () => ({ idTagInfo: { status: 'Accepted' } }))
  })
  const http: Server = await server.listen(port, '127.0.0.1')
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/csms`,
    port: (http.address() as AddressInfo).port,
    frames,
    clients,
    close: () => server.close({ force: true }),
  }
}

let stack: Stack | undefined
let upstream: Awaited<ReturnType<typeof upstreamServer>> | undefined
const dirs: string[] = []
afterEach(async () => {
  await stack?.close()
  await upstream?.close()
  stack = upstream = undefined
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function proxyStack(upstreamUrl: string, overrides: Partial<GatewayConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-proxy-'))
  dirs.push(dir)
  const sitesFile = join(dir, 'sites.json')
  writeFileSync(sitesFile, JSON.stringify({ sites: { depot: { mode: 'proxy', upstream: upstreamUrl } } }))
  return Stack.start({ sitesFile, ...overrides })
}

const iso = (ms: number) => new Date(ms).toISOString()

test('proxy mode: every frame reaches the other side unchanged and in order; the gateway answers nothing and monitors', async () => {
  upstream = await upstreamServer()
  stack = await proxyStack(upstream.url)
  const cp = stack.charger('depot', 'ABB:Terra.7', UPSTREAM_PASSWORD)
  const seen: { dir: 'in' | 'out'; text: string }[] = []
  cp.on('message', ({ message, outbound }: { message: string; outbound: boolean }) =>
    seen.push({ dir: outbound ? 'out' : 'in', text: message.toString() }),
  )
  await cp.connect()
  expect(cp.protocol).toBe('ocpp1.6')
  // The upstream's own answer (interval 900), not the gateway's (60).
  expect(
    await cp.call('BootNotification', { chargePointVendor: 'ABB', chargePointModel: 'Terra' }),
  ).toMatchObject({
    status: 'Accepted',
    interval: 900,
  })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  const t0 = Date.now() - 1_000
  const start = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'TAG',
    meterStart: 100,
    timestamp: iso(t0),
  })) as {
    transactionId: number
  }
  expect(start.transactionId).toBe(4242)
  await cp.call('MeterValues', {
    connectorId: 1,
    transactionId: 4242,
    meterValue: [
      {
        timestamp: iso(t0 + 500),
        sampledValue: [
          { value: '22', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '600', unit: 'Wh' },
        ],
      },
    ],
  })
  // Monitored while it happens: the reading is in the next telemetry sample.
  const sample = await stack.until('telemetry', () =>
    stack
      ?.of('abb_terra_7', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w === 22_000),
  )
  expect(sample.connectors[0]).toMatchObject({ id: 1, status: 'Charging', energy_wh: 600 })
  // A call the charger makes that the upstream does not handle: its NotImplemented, passed back.
  await expect(cp.call('DataTransfer', { vendorId: 'acme' })).rejects.toMatchObject({
    rpcErrorCode: 'NotImplemented',
  })
  // The upstream calls the charger: passed on, and the charger's answer passed back.
  cp.handle('GetConfiguration', async () => ({
    configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '900' }],
  }))
  const [server] = upstream.clients
  expect(await server?.call('GetConfiguration', {})).toMatchObject({
    configurationKey: [{ key: 'HeartbeatInterval' }],
  })
  await cp.call('StopTransaction', {
    transactionId: 4242,
    meterStop: 1_100,
    timestamp: iso(Date.now()),
    reason: 'Local',
  })

  // Byte for byte, in order: what the charger sent is what the upstream received, and back.
  expect(upstream.frames.filter((f) => f.dir === 'in').map((f) => f.text)).toEqual(
    seen.filter((f) => f.dir === 'out').map((f) => f.text),
  )
  expect(seen.filter((f) => f.dir === 'in').map((f) => f.text)).toEqual(
    upstream.frames.filter((f) => f.dir === 'out').map((f) => f.text),
  )
  expect(seen.length).toBe(14)

  // What was monitored: the upstream's transaction id, the session's energy from the registers.
  const stopped = await stack.until('stopped', () =>
    stack
      ?.of('abb_terra_7', 'session')
      .map((m) => m.payload as SessionEvent)
      .find((s) => s.event === 'stopped'),
  )
  expect(stopped).toMatchObject({
    session: 'abb_terra_7-4242',
    energy_wh: 1_000,
    reason: 'Local',
    connector: 1,
  })
  const meta = await stack.until('meta', () => stack?.of('abb_terra_7', 'meta').at(-1))
  expect(meta.payload).toMatchObject({
    ocpp: { identity: 'ABB:Terra.7', protocol: 'ocpp1.6', vendor: 'ABB' },
  })
  await cp.close()
  expect(stack.rejected).toEqual([])
})

test('proxy mode: the upstream decides who connects; upstream down refuses or closes the charger, and back it works', async () => {
  upstream = await upstreamServer()
  const port = upstream.port
  stack = await proxyStack(upstream.url)
  const refusal = async (client: RPCClient) => {
    try {
      await client.connect()
    } catch (err) {
      return (err as { code?: number }).code
    }
    return 'accepted'
  }
  // The upstream's 401, passed on as is.
  expect(await refusal(stack.charger('depot', 'CP-1', 'wrong'))).toBe(401)
  const cp = stack.charger('depot', 'CP-1', UPSTREAM_PASSWORD)
  await cp.connect()
  const closed = new Promise<{ code: number }>((resolve) => cp.once('close', resolve))
  await upstream.close()
  // The upstream going away closes the charger's connection; nothing answers in its name.
  expect((await closed).code).toBeGreaterThanOrEqual(1000)
  expect(await refusal(stack.charger('depot', 'CP-1', UPSTREAM_PASSWORD))).toBe(502)
  expect(
    await stack.gateway.metrics.get('evmon_gateway_upgrades_refused_total', {
      reason: 'upstream_unreachable',
    }),
  ).toBe(1)
  await stack.until('offline', () =>
    stack?.of('cp-1', 'online').find((m) => !(m.payload as { online: boolean }).online),
  )
  // Back on the same address: chargers connect again.
  upstream = await upstreamServer(port)
  const again = stack.charger('depot', 'CP-1', UPSTREAM_PASSWORD)
  await again.connect()
  expect(await again.call('Heartbeat', {}).catch((e: { rpcErrorCode: string }) => e.rpcErrorCode)).toBe(
    'NotImplemented',
  )
  await again.close()
})

test('proxy mode with the broker down: the charger is never held back; copies beyond the backlog cap are dropped, counted', async () => {
  upstream = await upstreamServer()
  const maxQueued = 4
  stack = await proxyStack(upstream.url, { maxQueued })
  const cp = stack.charger('depot', 'ABB:Terra.7', UPSTREAM_PASSWORD)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'ABB', chargePointModel: 'Terra' })
  await stack.stopBroker()
  // Every status change would publish a status event; the upstream answers each one.
  const calls = 20
  for (let i = 0; i < calls; i++) {
    const status = i % 2 === 0 ? 'Preparing' : 'Available'
    await expect(
      cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status }),
    ).resolves.toEqual({})
  }
  const reached = upstream.frames.filter((f) => f.dir === 'in' && f.text.includes('"StatusNotification"'))
  expect(reached).toHaveLength(calls)
  const dropped = await stack.gateway.metrics.get('evmon_gateway_publish_dropped_total', { kind: 'status' })
  expect(dropped).toBeGreaterThan(0)
  const gateway = stack.gateway
  const queued = async () =>
    Number(/^evmon_gateway_mqtt_queued (\d+)$/m.exec(await gateway.metrics.render())?.[1])
  expect(await queued()).toBeLessThanOrEqual(maxQueued)
  expect(await stack.gateway.metrics.get('evmon_gateway_held_back_total')).toBe(0)
  // Back: what was queued drains (the gateway is closed only after, as in a real restart).
  await stack.restartBroker()
  const deadline = Date.now() + 10_000
  while ((await queued()) > 0) {
    if (Date.now() > deadline) throw new Error('the backlog did not drain')
    await new Promise((r) => setTimeout(r, 25))
  }
  await cp.close()
})
