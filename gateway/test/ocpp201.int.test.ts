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
const energy = (kwh: number, context: string) => ({
  value: kwh,
  measurand: 'Energy.Active.Import.Register',
  context,
  unitOfMeasure: { unit: 'kWh' },
})

test('OCPP 2.0.1: boot, status, a whole transaction with meter values, stop', async () => {
  const password = await stack.addCharger('beibei', 'KC-Fast-2', 'kc-fast-2')
  const cs = stack.charger('beibei', 'KC-Fast-2', password, 'ocpp2.0.1')
  await cs.connect()
  const boot = (await cs.call('BootNotification', {
    reason: 'PowerUp',
    chargingStation: { vendorName: 'Kehua', model: 'KC-240', serialNumber: 'SN-2', firmwareVersion: '2.0' },
  })) as { status: string; interval: number }
  expect(boot).toMatchObject({ status: 'Accepted', interval: 60 })
  await cs.call('StatusNotification', {
    timestamp: iso(Date.now()),
    connectorStatus: 'Available',
    evseId: 1,
    connectorId: 1,
  })
  await cs.call('StatusNotification', {
    timestamp: iso(Date.now()),
    connectorStatus: 'Occupied',
    evseId: 1,
    connectorId: 1,
  })

  const t0 = Date.now() - 3_000
  const started = (await cs.call('TransactionEvent', {
    eventType: 'Started',
    timestamp: iso(t0),
    triggerReason: 'CablePluggedIn',
    seqNo: 0,
    transactionInfo: { transactionId: 'tx-201-0001', chargingState: 'EVConnected' },
    evse: { id: 1, connectorId: 1 },
    idToken: { idToken: 'DRIVER-2', type: 'ISO14443' },
    meterValue: [{ timestamp: iso(t0), sampledValue: [energy(5, 'Transaction.Begin')] }],
  })) as { idTokenInfo?: { status: string } }
  expect(started.idTokenInfo?.status).toBe('Accepted')

  const t1 = Date.now() - 1_000
  await cs.call('TransactionEvent', {
    eventType: 'Updated',
    timestamp: iso(t1),
    triggerReason: 'ChargingStateChanged',
    seqNo: 1,
    transactionInfo: { transactionId: 'tx-201-0001', chargingState: 'Charging' },
    meterValue: [
      {
        timestamp: iso(t1),
        sampledValue: [
          { value: 120, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'kW' } },
          // 6.25 kWh as a multiplier of Wh: 625 × 10^1 Wh.
          {
            value: 625,
            measurand: 'Energy.Active.Import.Register',
            unitOfMeasure: { unit: 'Wh', multiplier: 1 },
          },
          { value: 400, measurand: 'Voltage', unitOfMeasure: { unit: 'V' } },
          { value: 300, measurand: 'Current.Import', unitOfMeasure: { unit: 'A' } },
          { value: 61, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } },
        ],
      },
    ],
  })
  const sample = await stack.until('telemetry while charging', () =>
    stack
      .of('kc-fast-2', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w !== undefined),
  )
  expect(sample.connectors[0]).toEqual({
    id: 1,
    status: 'Charging',
    power_w: 120_000,
    energy_wh: 6_250,
    voltage_v: 400,
    current_a: 300,
    soc_pct: 61,
    measured_at: t1,
    session: 'tx-201-0001',
  })

  const t2 = Date.now()
  await cs.call('TransactionEvent', {
    eventType: 'Ended',
    timestamp: iso(t2),
    triggerReason: 'EVCommunicationLost',
    seqNo: 2,
    transactionInfo: { transactionId: 'tx-201-0001', stoppedReason: 'EVDisconnected' },
    meterValue: [{ timestamp: iso(t2), sampledValue: [energy(10, 'Transaction.End')] }],
  })
  const sessions = await stack.until('both session events', () => {
    const s = stack.of('kc-fast-2', 'session').map((m) => m.payload as SessionEvent)
    return s.length === 2 && s
  })
  expect(sessions[0]).toMatchObject({ ts: t0, event: 'started', session: 'tx-201-0001', connector: 1 })
  // 10 kWh at the end − 5 kWh at the beginning, as sent. The end reading has no SoC: the stop carries
  // the session's last one (61%, taken a moment before, well within EVMON_GATEWAY_STALE_AFTER_MS).
  expect(sessions[1]).toEqual({
    ts: t2,
    event: 'stopped',
    session: 'tx-201-0001',
    connector: 1,
    energy_wh: 5_000,
    soc_pct: 61,
    reason: 'EVDisconnected',
  })
  await cs.call('StatusNotification', {
    timestamp: iso(Date.now()),
    connectorStatus: 'Available',
    evseId: 1,
    connectorId: 1,
  })
  const statuses = await stack.until('status sequence', () => {
    const s = stack.of('kc-fast-2', 'status').map((m) => (m.payload as StatusEvent).status)
    return s.at(-1) === 'Available' && s.length > 2 && s
  })
  // Occupied is split by the transaction: Preparing before charging, Finishing once it ended.
  expect(statuses).toEqual(['Available', 'Preparing', 'Charging', 'Finishing', 'Available'])

  // A fault reported with NotifyEvent is a status event naming its component and variable.
  await cs.call('NotifyEvent', {
    generatedAt: iso(Date.now()),
    seqNo: 0,
    eventData: [
      {
        eventId: 1,
        timestamp: iso(Date.now()),
        trigger: 'Alerting',
        actualValue: '95',
        techCode: 'T-OVER',
        component: { name: 'TemperatureSensor', evse: { id: 1 } },
        variable: { name: 'Temperature' },
        eventNotificationType: 'HardWiredMonitor',
      },
    ],
  })
  const fault = await stack.until('threshold status', () =>
    stack.of('kc-fast-2', 'status').find((m) => (m.payload as StatusEvent).error_code !== 'NoError'),
  )
  expect(fault.payload).toMatchObject({
    connector: 1,
    status: 'Available',
    error_code: 'HighTemperature',
    vendor_error: 'TemperatureSensor.Temperature=95 (T-OVER)',
  })
  // A Problem variable is a fault: Faulted until the charger clears it.
  const problem = (cleared: boolean) => ({
    generatedAt: iso(Date.now()),
    seqNo: 1,
    eventData: [
      {
        eventId: 2,
        timestamp: iso(Date.now()),
        trigger: 'Delta',
        actualValue: cleared ? 'false' : 'true',
        cleared,
        component: { name: 'PowerContactor', evse: { id: 1 } },
        variable: { name: 'Problem' },
        eventNotificationType: 'HardWiredNotification',
      },
    ],
  })
  await cs.call('NotifyEvent', problem(false))
  const faulted = await stack.until('Faulted', () =>
    stack.of('kc-fast-2', 'status').find((m) => (m.payload as StatusEvent).status === 'Faulted'),
  )
  expect(faulted.payload).toMatchObject({
    error_code: 'PowerSwitchFailure',
    vendor_error: 'PowerContactor.Problem=true',
  })
  await cs.call('NotifyEvent', problem(true))
  await stack.until('cleared', () => {
    const last = stack.of('kc-fast-2', 'status').at(-1)?.payload as StatusEvent | undefined
    return last?.status === 'Available' && last.error_code === 'NoError'
  })
  await cs.call('SecurityEventNotification', { type: 'FirmwareUpdated', timestamp: iso(Date.now()) })
  expect(
    await stack.gateway.metrics.get('evmon_gateway_events_total', { type: 'SecurityEventNotification' }),
  ).toBe(1)
  const meta = await stack.until('meta', () => stack.of('kc-fast-2', 'meta').at(-1))
  expect(meta.payload).toMatchObject({
    ocpp: {
      identity: 'KC-Fast-2',
      protocol: 'ocpp2.0.1',
      vendor: 'Kehua',
      model: 'KC-240',
      serial_number: 'SN-2',
    },
  })
  await cs.close()
  expect(stack.rejected).toEqual([])
})
