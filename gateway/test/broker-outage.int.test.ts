import { ALL_STATIONS_FILTER, type SessionEvent, type Telemetry } from '@evmon/contracts'
import { afterEach, expect, test } from 'vitest'
import WebSocket from 'ws'
import { start } from '../src/index.ts'
import { Stack } from './harness.ts'

let stack: Stack
afterEach(async () => {
  await stack.close()
  expect(stack.rejected).toEqual([])
})

const iso = (ms: number) => new Date(ms).toISOString()

/** The gateway's gauge of publishes waiting for the broker, as /metrics shows it. */
async function queued(): Promise<number> {
  const text = await stack.gateway.metrics.render()
  return Number(/^evmon_gateway_mqtt_queued (\d+)$/m.exec(text)?.[1])
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}:\n${stack.logs.slice(-15).join('\n')}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

test('broker down: the backlog stops at its cap, the charger is held back and keeps its messages; once the broker is back they all arrive', async () => {
  const maxQueued = 6
  stack = await Stack.start({ maxQueued })
  const password = await stack.addCharger('beibei', 'OUT-1')
  const cp = stack.charger('beibei', 'OUT-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  const t0 = Date.now() - 10_000
  const started = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'CARD',
    meterStart: 5_000,
    timestamp: iso(t0),
  })) as { transactionId: number }
  await stack.until('session started', () => stack.of('out-1', 'session').length === 1)

  await stack.stopBroker()
  // Telemetry samples (one per 200 ms) fill the backlog; past the cap they are not taken, counted.
  await waitFor('a full backlog', async () => (await queued()) >= maxQueued)
  await waitFor(
    'a sample not taken',
    async () =>
      (await stack.gateway.metrics.get('evmon_gateway_publish_dropped_total', { kind: 'telemetry' })) > 0,
  )

  // The charger's next call is not answered; its connection is closed with 1013 (try again later).
  const closed = new Promise<{ code: number }>((resolve) => cp.once('close', resolve))
  const meter = {
    connectorId: 1,
    transactionId: started.transactionId,
    meterValue: [
      {
        timestamp: iso(Date.now() - 1_000),
        sampledValue: [
          { value: '7.5', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '6.2', unit: 'kWh' },
        ],
      },
    ],
  }
  await expect(cp.call('MeterValues', meter)).rejects.toThrow()
  expect((await closed).code).toBe(1013)
  expect(await stack.gateway.metrics.get('evmon_gateway_held_back_total')).toBe(1)

  // While the backlog is full a new connection is refused (503), before any password check.
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`${stack.gateway.ocppUrl}/beibei/OUT-1`, ['ocpp1.6'], {
      headers: { authorization: `Basic ${Buffer.from(`OUT-1:${password}`).toString('base64')}` },
    })
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('open', () => reject(new Error('accepted while the backlog is full')))
    ws.once('error', () => {})
  })
  expect(status).toBe(503)
  expect(
    await stack.gateway.metrics.get('evmon_gateway_upgrades_refused_total', { reason: 'broker_backlog' }),
  ).toBe(1)
  // Bounded: the cap, plus the one offline message of the connection closed.
  await new Promise((r) => setTimeout(r, 600))
  expect(await queued()).toBeLessThanOrEqual(maxQueued + 1)

  // The broker comes back: the backlog drains, every publish acknowledged.
  await stack.restartBroker()
  await waitFor('the backlog drained', async () => (await queued()) === 0)
  expect(await stack.gateway.metrics.get('evmon_gateway_publish_failed_total')).toBe(0)
  await waitFor('the subscriber back', () => Promise.resolve(stack.subscriber.connected))
  await stack.subscriber.subscribeAsync(ALL_STATIONS_FILTER, { qos: 1 })

  // The charger reconnects and sends what it kept: the held MeterValues, then the stop.
  const again = stack.charger('beibei', 'OUT-1', password)
  await again.connect()
  await again.call('MeterValues', meter)
  const sample = await stack.until('the held reading in telemetry', () =>
    stack
      .of('out-1', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w !== undefined),
  )
  expect(sample.connectors[0]).toMatchObject({ power_w: 7_500, energy_wh: 6_200 })
  await again.call('StopTransaction', {
    transactionId: started.transactionId,
    meterStop: 6_200,
    timestamp: iso(Date.now()),
    reason: 'EVDisconnected',
  })
  const stop = await stack.until('session stopped', () =>
    stack
      .of('out-1', 'session')
      .map((m) => m.payload as SessionEvent)
      .find((e) => e.event === 'stopped'),
  )
  expect(stop).toMatchObject({ energy_wh: 6_200 - 5_000, reason: 'EVDisconnected' })
  await again.close()
})

test('the gateway stops while the broker is down: it does not hang, and says what the broker never acknowledged', async () => {
  stack = await Stack.start()
  const password = await stack.addCharger('beibei', 'OUT-2')
  const cp = stack.charger('beibei', 'OUT-2', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' })
  await stack.stopBroker()
  await waitFor('a publish waiting', async () => (await queued()) > 0)
  const t = Date.now()
  await stack.gateway.close()
  expect(Date.now() - t).toBeLessThan(5_000)
  expect(stack.logs.some((l) => /publishes the broker never acknowledged/.test(l))).toBe(true)
  // For the clean-up: a broker to close, and a gateway that stops at once.
  await stack.restartBroker()
  stack.gateway = await start({ ...stack.config, port: 0 })
})
