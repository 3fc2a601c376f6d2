import type { StatusEvent, Telemetry } from '@evmon/contracts'
import { afterEach, expect, test } from 'vitest'
import { Stack } from './harness.ts'

let stack: Stack | undefined
afterEach(async () => {
  await stack?.close()
  stack = undefined
})

const iso = (ms: number) => new Date(ms).toISOString()

test('after boot, chargers are asked for the configured meter interval (1.6 ChangeConfiguration, 2.0.1 SetVariables)', async () => {
  stack = await Stack.start({ meterIntervalS: 10 })
  const p16 = await stack.addCharger('beibei', 'CP-16')
  const p201 = await stack.addCharger('beibei', 'CP-201')
  const cp16 = stack.charger('beibei', 'CP-16', p16)
  const cp201 = stack.charger('beibei', 'CP-201', p201, 'ocpp2.0.1')
  const asked16 = new Promise((resolve) =>
    cp16.handle('ChangeConfiguration', async ({ params }) => {
      resolve(params)
      return { status: 'Accepted' }
    }),
  )
  const asked201 = new Promise((resolve) =>
    cp201.handle('SetVariables', async ({ params }) => {
      resolve(params)
      return {
        setVariableResult: [
          {
            attributeStatus: 'Accepted',
            component: { name: 'SampledDataCtrlr' },
            variable: { name: 'TxUpdatedInterval' },
          },
        ],
      }
    }),
  )
  await cp16.connect()
  await cp201.connect()
  await cp16.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  await cp201.call('BootNotification', {
    reason: 'PowerUp',
    chargingStation: { vendorName: 'V', model: 'M' },
  })
  expect(await asked16).toEqual({ key: 'MeterValueSampleInterval', value: '10' })
  expect(await asked201).toEqual({
    setVariableData: [
      {
        component: { name: 'SampledDataCtrlr' },
        variable: { name: 'TxUpdatedInterval' },
        attributeValue: '10',
      },
    ],
  })
  await stack.until(
    'answers logged',
    () => stack?.logs.filter((l) => l.includes('meter interval 10 s')).length === 2,
  )
  await cp16.close()
  await cp201.close()
})

test('connector 0 is the station: Unavailable stops every connector, and its meter is the station meter', async () => {
  stack = await Stack.start()
  const password = await stack.addCharger('beibei', 'CP-1')
  const cp = stack.charger('beibei', 'CP-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' })
  await cp.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Charging' })
  await cp.call('StatusNotification', {
    connectorId: 0,
    errorCode: 'InternalError',
    status: 'Unavailable',
    vendorErrorCode: 'E42',
  })
  const down = await stack.until('both connectors unavailable', () => {
    const last = new Map(
      stack
        ?.of('cp-1', 'status')
        .map((m) => [(m.payload as StatusEvent).connector, m.payload as StatusEvent]),
    )
    return last.get(1)?.status === 'Unavailable' && last.get(2)?.status === 'Unavailable' && last
  })
  expect(down.get(2)).toMatchObject({ error_code: 'InternalError', vendor_error: 'station: E42' })
  await cp.call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' })
  // Back: each connector has its own status again.
  await stack.until('own statuses back', () => {
    const last = new Map(
      stack
        ?.of('cp-1', 'status')
        .map((m) => [(m.payload as StatusEvent).connector, (m.payload as StatusEvent).status]),
    )
    return last.get(1) === 'Available' && last.get(2) === 'Charging'
  })
  const t = Date.now()
  await cp.call('MeterValues', {
    connectorId: 0,
    meterValue: [
      {
        timestamp: iso(t),
        sampledValue: [
          { value: '75.5', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '123456.7', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
        ],
      },
    ],
  })
  const sample = await stack.until('station meter in telemetry', () =>
    stack
      ?.of('cp-1', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((s) => s.meter.grid_power_w !== undefined),
  )
  expect(sample.meter).toEqual({ grid_power_w: 75_500, grid_energy_wh: 123_456_700 })
  // Only in the period it was taken: the contract cannot mark the station meter's time.
  await new Promise((r) => setTimeout(r, 600))
  const later = stack
    .of('cp-1', 'telemetry')
    .map((m) => m.payload as Telemetry)
    .filter((s) => s.ts > t + 400)
  expect(later.length).toBeGreaterThan(0)
  expect(later.every((s) => s.meter.grid_power_w === undefined)).toBe(true)
  await cp.close()
  expect(stack.rejected).toEqual([])
})

test('id-tags policy: unknown tags are refused and their transaction publishes no session', async () => {
  stack = await Stack.start({ authorize: { kind: 'id-tags', idTags: new Set(['GOOD']) } })
  const password = await stack.addCharger('beibei', 'CP-1')
  const cp = stack.charger('beibei', 'CP-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  expect(await cp.call('Authorize', { idTag: 'BAD' })).toEqual({ idTagInfo: { status: 'Invalid' } })
  expect(await cp.call('Authorize', { idTag: 'GOOD' })).toEqual({ idTagInfo: { status: 'Accepted' } })
  const refused = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'BAD',
    meterStart: 0,
    timestamp: iso(Date.now()),
  })) as {
    transactionId: number
    idTagInfo: { status: string }
  }
  expect(refused.idTagInfo.status).toBe('Invalid')
  await cp.call('StopTransaction', {
    transactionId: refused.transactionId,
    meterStop: 0,
    timestamp: iso(Date.now()),
    reason: 'DeAuthorized',
  })
  const accepted = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'GOOD',
    meterStart: 0,
    timestamp: iso(Date.now()),
  })) as {
    transactionId: number
  }
  // Transaction ids are issued, never reused.
  expect(accepted.transactionId).toBe(refused.transactionId + 1)
  const sessions = await stack.until('one started session', () => {
    const s = stack?.of('cp-1', 'session') ?? []
    return s.length > 0 && s
  })
  await new Promise((r) => setTimeout(r, 200))
  expect(stack.of('cp-1', 'session').map((m) => m.payload)).toEqual([sessions[0]?.payload])
  expect(sessions[0]?.payload).toMatchObject({ event: 'started', session: `cp-1-${accepted.transactionId}` })
  expect(await cp.call('DataTransfer', { vendorId: 'acme' })).toEqual({ status: 'UnknownVendorId' })
  await cp.close()
})

test('a 2.0.1 charger is asked for its EVSEs’ rated power (GetReport); the Power maxLimit it reports is in the meta', async () => {
  stack = await Stack.start()
  const password = await stack.addCharger('beibei', 'CS-201')
  const cs = stack.charger('beibei', 'CS-201', password, 'ocpp2.0.1')
  const asked = new Promise<{ requestId: number }>((resolve) =>
    cs.handle('GetReport', async ({ params }) => {
      resolve(params as { requestId: number })
      return { status: 'Accepted' }
    }),
  )
  await cs.connect()
  await cs.call('BootNotification', { reason: 'PowerUp', chargingStation: { vendorName: 'V', model: 'M' } })
  const { requestId } = await asked
  await cs.call('NotifyReport', {
    requestId,
    generatedAt: iso(Date.now()),
    seqNo: 0,
    reportData: [
      {
        component: { name: 'EVSE', evse: { id: 1 } },
        variable: { name: 'Power' },
        variableAttribute: [{ type: 'Actual', value: '0' }],
        variableCharacteristics: {
          unit: 'kW',
          dataType: 'decimal',
          maxLimit: 240,
          supportsMonitoring: false,
        },
      },
      {
        component: { name: 'EVSE', evse: { id: 2 } },
        variable: { name: 'Power' },
        variableAttribute: [{ type: 'Actual', value: '0' }],
        variableCharacteristics: {
          unit: 'W',
          dataType: 'decimal',
          maxLimit: 9_000_000,
          supportsMonitoring: false,
        },
      },
    ],
  })
  const meta = await stack.until('meta with the rating', () =>
    stack?.of('cs-201', 'meta').find((m) => m.kind === 'meta' && m.payload.connectors.length > 0),
  )
  // 240 kW for EVSE 1; EVSE 2's 9 MW is beyond any gun and is not carried.
  expect(meta.payload).toMatchObject({ connectors: [{ id: 1, max_power_w: 240_000 }] })
  expect(await stack.gateway.metrics.get('evmon_gateway_values_rejected_total', { reason: 'absurd' })).toBe(1)
  await cs.close()
  expect(stack.rejected).toEqual([])
})

test('a fresh reading is published at once and restarts its charger’s sample period; a queued one waits', async () => {
  stack = await Stack.start({ sampleIntervalMs: 3_000 })
  const password = await stack.addCharger('beibei', 'CP-1')
  const cp = stack.charger('beibei', 'CP-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  const samples = () => stack?.of('cp-1', 'telemetry').map((m) => m.payload as Telemetry) ?? []
  const sent = Date.now()
  await cp.call('MeterValues', {
    connectorId: 1,
    meterValue: [
      { timestamp: iso(sent), sampledValue: [{ value: '7', measurand: 'Power.Active.Import', unit: 'kW' }] },
    ],
  })
  const first = await stack.until(
    'the reading',
    () => samples().find((s) => s.connectors[0]?.power_w === 7_000),
    1_000,
  )
  expect(first.ts - sent).toBeLessThan(1_000)
  // Another fresh reading: one more sample at once.
  const before = samples().length
  await cp.call('MeterValues', {
    connectorId: 1,
    meterValue: [
      {
        timestamp: iso(Date.now() + 10),
        sampledValue: [{ value: '8', measurand: 'Power.Active.Import', unit: 'kW' }],
      },
    ],
  })
  await stack.until(
    'the second reading',
    () => samples().find((s) => s.connectors[0]?.power_w === 8_000),
    1_000,
  )
  await cp.call('MeterValues', {
    connectorId: 1,
    meterValue: [
      {
        timestamp: iso(Date.now() - 60_000),
        sampledValue: [{ value: '9', measurand: 'Power.Active.Import', unit: 'kW' }],
      },
    ],
  })
  await new Promise((r) => setTimeout(r, 500))
  expect(samples().length).toBe(before + 1)
  // The period restarted at the last fresh reading: the next sample comes about a period later.
  const next = await stack.until('the periodic sample', () => samples()[before + 1], 4_000)
  const previous = samples()[before] as Telemetry
  expect(next.ts - previous.ts).toBeGreaterThanOrEqual(2_900)
  await cp.close()
})

test('after a crash, chargers the gateway served before are published offline at start, until they connect', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { Chargers } = await import('../src/chargers.ts')
  const dir = mkdtempSync(join(tmpdir(), 'evmon-gateway-crash-'))
  const chargersFile = join(dir, 'chargers.json')
  const stateFile = join(dir, 'state.json')
  const chargers = Chargers.empty()
  const { password } = await chargers.add('beibei', 'CP-SEEN')
  await chargers.add('beibei', 'CP-NEVER')
  await chargers.save(chargersFile)
  // What the previous run left: CP-SEEN booted; CP-NEVER never connected.
  const boot = { protocol: 'ocpp1.6', vendor: 'V', model: 'M', ts: Date.now() - 60_000 }
  writeFileSync(
    stateFile,
    JSON.stringify({ version: 1, nextTransactionId: 7, boots: { 'beibei/CP-SEEN': boot }, transactions: {} }),
  )
  stack = await Stack.start({ chargersFile, stateFile })
  const offline = await stack.until('offline at start', () => stack?.of('cp-seen', 'online').at(0))
  expect(offline.payload).toMatchObject({ online: false })
  expect(stack.of('cp-never', 'online')).toEqual([])
  // It connects again without booting (OCPP allows it): online, and its first transaction id continues the count.
  const cp = stack.charger('beibei', 'CP-SEEN', password)
  await cp.connect()
  await stack.until('online', () =>
    stack?.of('cp-seen', 'online').find((m) => (m.payload as { online: boolean }).online),
  )
  const started = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'T',
    meterStart: 0,
    timestamp: iso(Date.now()),
  })) as {
    transactionId: number
  }
  expect(started.transactionId).toBe(7)
  await cp.close()
  // The gateway writes its state file (a temporary file, then a rename) as chargers come and go: it
  // stops before its directory is removed, or the removal races a write (ENOTEMPTY).
  await stack.close()
  stack = undefined
  const { rmSync } = await import('node:fs')
  rmSync(dir, { recursive: true, force: true })
})
