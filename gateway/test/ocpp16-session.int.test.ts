import type { SessionEvent, StatusEvent, Telemetry } from '@evmon/contracts'
import { afterEach, beforeEach, expect, test } from 'vitest'
import { Stack } from './harness.ts'

let stack: Stack
beforeEach(async () => {
  stack = await Stack.start()
})
afterEach(async () => {
  await stack.close()
})

const iso = (ms: number) => new Date(ms).toISOString()

test('OCPP 1.6J: a whole transaction with meter values in kW/kWh becomes status, session and telemetry', async () => {
  const password = await stack.addCharger('beibei', 'KC-Fast-1', 'kc-fast-1')
  const cp = stack.charger('beibei', 'KC-Fast-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'Kehua', chargePointModel: 'KC-480' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' })
  const auth = (await cp.call('Authorize', { idTag: 'DRIVER-1' })) as { idTagInfo: { status: string } }
  expect(auth.idTagInfo.status).toBe('Accepted')

  const t0 = Date.now() - 2_000
  const started = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'DRIVER-1',
    meterStart: 1_000_000, // Wh
    timestamp: iso(t0),
  })) as { transactionId: number; idTagInfo: { status: string } }
  expect(started.idTagInfo.status).toBe('Accepted')
  expect(Number.isInteger(started.transactionId)).toBe(true)
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })

  const t1 = Date.now() - 500
  const sent = { powerKw: 452.3, energyKwh: 1_002.5, voltage: 768.2, current: 588.8, soc: 43.1, temp: 62 }
  await cp.call('MeterValues', {
    connectorId: 1,
    transactionId: started.transactionId,
    meterValue: [
      {
        timestamp: iso(t1),
        sampledValue: [
          {
            value: String(sent.powerKw),
            measurand: 'Power.Active.Import',
            unit: 'kW',
            context: 'Sample.Periodic',
          },
          {
            value: String(sent.energyKwh),
            measurand: 'Energy.Active.Import.Register',
            unit: 'kWh',
            context: 'Sample.Periodic',
          },
          { value: String(sent.voltage), measurand: 'Voltage', unit: 'V', context: 'Sample.Periodic' },
          { value: String(sent.current), measurand: 'Current.Import', unit: 'A', context: 'Sample.Periodic' },
          {
            value: String(sent.soc),
            measurand: 'SoC',
            unit: 'Percent',
            location: 'EV',
            context: 'Sample.Periodic',
          },
          { value: String(sent.temp), measurand: 'Temperature', unit: 'Celsius', location: 'Outlet' },
        ],
      },
    ],
  })

  // Telemetry carries the reading, in contract units, marked with the time it was taken.
  const sample = await stack.until('telemetry with the reading', () =>
    stack
      .of('kc-fast-1', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w !== undefined),
  )
  expect(sample.connectors[0]).toEqual({
    id: 1,
    status: 'Charging',
    power_w: sent.powerKw * 1000,
    energy_wh: sent.energyKwh * 1000,
    voltage_v: sent.voltage,
    current_a: sent.current,
    soc_pct: sent.soc,
    temp_c: sent.temp,
    measured_at: t1,
    session: `kc-fast-1-${started.transactionId}`,
  })
  expect(sample.meter).toEqual({})

  const t2 = Date.now()
  const meterStop = 1_021_000
  await cp.call('StopTransaction', {
    transactionId: started.transactionId,
    meterStop,
    timestamp: iso(t2),
    reason: 'EVDisconnected',
    transactionData: [
      {
        timestamp: iso(t2),
        sampledValue: [{ value: '47', measurand: 'SoC', unit: 'Percent', context: 'Transaction.End' }],
      },
    ],
  })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Finishing' })

  const sessions = await stack.until('both session events', () => {
    const s = stack.of('kc-fast-1', 'session').map((m) => m.payload as SessionEvent)
    return s.length === 2 && s
  })
  expect(sessions[0]).toEqual({
    ts: t0,
    event: 'started',
    session: `kc-fast-1-${started.transactionId}`,
    connector: 1,
  })
  // Energy recomputed from the registers the charger sent: meterStop - meterStart.
  expect(sessions[1]).toEqual({
    ts: t2,
    event: 'stopped',
    session: `kc-fast-1-${started.transactionId}`,
    connector: 1,
    energy_wh: meterStop - 1_000_000,
    soc_pct: 47,
    reason: 'EVDisconnected',
  })
  const statuses = await stack.until('three statuses', () => {
    const s = stack.of('kc-fast-1', 'status').map((m) => (m.payload as StatusEvent).status)
    return s.length === 3 && s
  })
  expect(statuses).toEqual(['Preparing', 'Charging', 'Finishing'])
  // Telemetry after the stop carries no session.
  await stack.until('telemetry without a session', () =>
    stack
      .of('kc-fast-1', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.status === 'Finishing' && t.connectors[0].session === undefined),
  )
  // Sequence numbers only go up.
  const seqs = stack.of('kc-fast-1', 'telemetry').map((m) => (m.payload as Telemetry).seq)
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b))
  await cp.close()
  expect(stack.rejected).toEqual([])
})
