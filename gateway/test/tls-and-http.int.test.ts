import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { StationMeta } from '@evmon/contracts'
import { RPCClient } from 'ocpp-rpc'
import { afterEach, expect, test } from 'vitest'
import { Stack } from './harness.ts'

const run = promisify(execFile)
let stack: Stack | undefined
const dirs: string[] = []
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-gateway-test-'))
  dirs.push(dir)
  return dir
}
afterEach(async () => {
  await stack?.close()
  stack = undefined
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

test('security profile 2: OCPP over TLS with Basic auth; an untrusting charger cannot connect', async () => {
  const dir = tmp()
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ])
  } catch (err) {
    throw new Error(
      `this test needs openssl to make a certificate (apt-get install openssl): ${(err as Error).message}`,
    )
  }
  stack = await Stack.start({ tls: { port: 0, certFile: cert, keyFile: key } })
  const password = await stack.addCharger('beibei', 'CS-TLS')
  const tlsPort = stack.gateway.tlsPort
  expect(tlsPort).toBeGreaterThan(0)
  const client = (wsOpts: object) =>
    new RPCClient({
      endpoint: `wss://127.0.0.1:${tlsPort}/ocpp/beibei`,
      identity: 'CS-TLS',
      password,
      protocols: ['ocpp1.6'],
      strictMode: true,
      reconnect: false,
      wsOpts,
    } as ConstructorParameters<typeof RPCClient>[0])
  const cp = client({ ca: readFileSync(cert), minVersion: 'TLSv1.2' })
  await cp.connect()
  expect(await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })).toMatchObject({
    status: 'Accepted',
  })
  await cp.close()
  await expect(client({}).connect()).rejects.toThrow(/self[- ]signed|certificate/i)
  // TLS 1.1 is below what OCPP's security profiles allow.
  await expect(
    client({ ca: readFileSync(cert), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }).connect(),
  ).rejects.toThrow()
})

test('the sites file describes a charger: its meta carries the description and what the charger said', async () => {
  const sitesFile = join(tmp(), 'sites.json')
  const description = {
    name: 'Kehua 480 kW supercharger',
    cooling: 'liquid',
    cabinet_max_power_w: 480_000,
    connectors: [{ id: 1, kind: 'dc', standard: 'GB/T', max_power_w: 480_000, max_current_a: 600 }],
  }
  writeFileSync(sitesFile, JSON.stringify({ sites: { beibei: { chargers: { 'KC-Fast-1': description } } } }))
  stack = await Stack.start({ sitesFile })
  const password = await stack.addCharger('beibei', 'KC-Fast-1', 'kc-fast-1')
  const cp = stack.charger('beibei', 'KC-Fast-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'Kehua', chargePointModel: 'KC-480' })
  const meta = await stack.until('meta', () => stack?.of('kc-fast-1', 'meta').at(-1))
  expect(meta.payload as StationMeta).toEqual({
    v: 1,
    ...description,
    ocpp: { identity: 'KC-Fast-1', protocol: 'ocpp1.6', vendor: 'Kehua', model: 'KC-480' },
  })
  await cp.close()
})

test('a sites file that breaks the contract stops the start, naming the charger', async () => {
  const sitesFile = join(tmp(), 'sites.json')
  writeFileSync(
    sitesFile,
    JSON.stringify({ sites: { beibei: { chargers: { 'KC-1': { cooling: 'water' } } } } }),
  )
  await expect(Stack.start({ sitesFile })).rejects.toThrow(/beibei\/KC-1: \/cooling/)
})

test('/healthz answers and /metrics counts in the Prometheus text format', async () => {
  stack = await Stack.start()
  const base = `http://127.0.0.1:${stack.gateway.port}`
  await stack.until('broker connection', async () => (await fetch(`${base}/healthz`)).status === 200)
  const health = await fetch(`${base}/healthz`)
  expect(await health.json()).toEqual({ status: 'ok', chargers: 0 })
  await expect(stack.charger('beibei', 'nobody', 'x').connect()).rejects.toThrow()
  const metrics = await (await fetch(`${base}/metrics`)).text()
  expect(metrics).toContain('# TYPE evmon_gateway_chargers_connected gauge')
  expect(metrics).toContain('evmon_gateway_upgrades_refused_total{reason="unknown_charger"} 1')
  expect((await fetch(`${base}/anything`)).status).toBe(404)
})

test('a port in use fails the start and leaves nothing running', async () => {
  stack = await Stack.start()
  const { start } = await import('../src/index.ts')
  const dir = tmp()
  await expect(
    start({
      ...stack.config,
      port: stack.gateway.port,
      chargersFile: join(dir, 'chargers.json'),
      stateFile: join(dir, 'state.json'),
    }),
  ).rejects.toThrow(/EADDRINUSE/)
})
