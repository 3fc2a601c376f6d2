import { randomBytes } from 'node:crypto'
import { request, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { SessionEvent, StationMeta, Telemetry } from '@evmon/contracts'
import { ChargePoint } from '@voltbras/ts-ocpp'
import { afterEach, beforeEach, expect, test } from 'vitest'
import WebSocket from 'ws'
import { Stack } from './harness.ts'

// Chargers the gateway did not write: an independent OCPP 1.6J library (@voltbras/ts-ocpp, its own
// framing, ids and schema checks) and a raw WebSocket sending what real chargers send — several
// subprotocols offered, credentials in the URL, values without unit or measurand, decimal strings,
// time stamps without milliseconds or with an offset, notifications the contract has no message for.

let stack: Stack
beforeEach(async () => {
  stack = await Stack.start()
})
afterEach(async () => {
  await stack.close()
  expect(stack.rejected).toEqual([])
})

/** An ISO time stamp as many chargers write it: whole seconds, no milliseconds. */
const noMs = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
/** The same instant in a local time with its UTC offset (+08:00, China Standard Time), no milliseconds. */
const plus8 = (ms: number) => noMs(ms + 8 * 3_600_000).replace(/Z$/, '+08:00')

const sessions = (station: string) => stack.of(station, 'session').map((m) => m.payload as SessionEvent)

test('a third-party OCPP 1.6J library with Basic auth in the URL: boot, quirky meter values, a session ending with its SoC, a reconnect that boots again', async () => {
  const identity = 'TP-Volt-1'
  const password = await stack.addCharger('beibei', identity)
  const url = new URL(`${stack.gateway.ocppUrl}/beibei`)
  url.username = identity
  url.password = password
  // The library appends `/{identity}` to the central system's URL and offers `ocpp1.6`.
  const connect = async () => {
    const cp = new ChargePoint(identity, () => Promise.reject(new Error('no call expected')), url.href)
    await cp.connect()
    return cp
  }
  let cp = await connect()
  const call = async (action: string, payload: Record<string, unknown>) =>
    (await cp.sendRequest({ action, ocppVersion: 'v1.6-json', payload } as never)).unsafeCoerce() as never

  // A Heartbeat before any BootNotification is refused as OCPP says (the gateway does not know it yet).
  const early = await cp.sendRequest({ action: 'Heartbeat', ocppVersion: 'v1.6-json', payload: {} })
  expect(early.isLeft()).toBe(true)
  expect(String(early.extract())).toMatch(/error/i)

  const boot: { status: string; interval: number } = await call('BootNotification', {
    chargePointVendor: 'ThirdParty',
    chargePointModel: 'TP-22',
    chargeBoxSerialNumber: 'SN-42',
  })
  expect(boot).toMatchObject({ status: 'Accepted', interval: stack.config.heartbeatIntervalS })
  const beat: { currentTime: string } = await call('Heartbeat', {})
  expect(Math.abs(Date.parse(beat.currentTime) - Date.now())).toBeLessThan(5_000)

  // Connector 0 is the charge point itself; a time stamp without milliseconds.
  await call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' })
  const tStatus = noMs(Date.now())
  await call('StatusNotification', {
    connectorId: 1,
    errorCode: 'NoError',
    status: 'Preparing',
    timestamp: tStatus,
  })
  const status = await stack.until('status of connector 1', () =>
    stack.of('tp-volt-1', 'status').find((m) => (m.payload as { connector: number }).connector === 1),
  )
  expect(status.payload).toMatchObject({
    ts: Date.parse(tStatus),
    status: 'Preparing',
    error_code: 'NoError',
  })

  const tStart = noMs(Date.now() - 3_000)
  const started: { transactionId: number } = await call('StartTransaction', {
    connectorId: 1,
    idTag: 'CARD-7',
    meterStart: 20_000,
    timestamp: tStart,
  })
  await call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })

  // No measurand and no unit: the energy register in Wh (OCPP 1.6 defaults); decimal strings; Raw format;
  // a time stamp with a +08:00 offset.
  const tMeter = plus8(Date.now() - 1_000)
  const sent = { register: '20500.5', powerKw: '7.4', soc: '55' }
  await call('MeterValues', {
    connectorId: 1,
    transactionId: started.transactionId,
    meterValue: [
      {
        timestamp: tMeter,
        sampledValue: [
          { value: sent.register },
          { value: sent.powerKw, measurand: 'Power.Active.Import', unit: 'kW', format: 'Raw' },
          { value: sent.soc, measurand: 'SoC', unit: 'Percent', context: 'Sample.Periodic' },
        ],
      },
    ],
  })
  const sample = await stack.until('telemetry with the reading', () =>
    stack
      .of('tp-volt-1', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w !== undefined),
  )
  expect(sample.connectors[0]).toMatchObject({
    id: 1,
    status: 'Charging',
    energy_wh: Number(sent.register),
    power_w: Number(sent.powerKw) * 1000,
    soc_pct: Number(sent.soc),
    measured_at: Date.parse(tMeter),
    session: `tp-volt-1-${started.transactionId}`,
  })

  // The stop's transactionData carries the end SoC, unitless registers again.
  const tStop = noMs(Date.now())
  const stop: { idTagInfo: { status: string } } = await call('StopTransaction', {
    transactionId: started.transactionId,
    meterStop: 21_500,
    timestamp: tStop,
    reason: 'EVDisconnected',
    transactionData: [
      {
        timestamp: tStop,
        sampledValue: [
          { value: '21500', context: 'Transaction.End' },
          { value: '57', measurand: 'SoC', unit: 'Percent', context: 'Transaction.End' },
        ],
      },
    ],
  })
  expect(stop.idTagInfo.status).toBe('Accepted')
  const [start, end] = await stack.until('both session events', () => {
    const s = sessions('tp-volt-1')
    return s.length === 2 && s
  })
  expect(start).toEqual({
    ts: Date.parse(tStart),
    event: 'started',
    session: `tp-volt-1-${started.transactionId}`,
    connector: 1,
  })
  expect(end).toEqual({
    ts: Date.parse(tStop),
    event: 'stopped',
    session: `tp-volt-1-${started.transactionId}`,
    connector: 1,
    energy_wh: 21_500 - 20_000,
    soc_pct: 57,
    reason: 'EVDisconnected',
  })

  // The charger goes away and comes back, booting again as many do: accepted, online again, meta kept.
  cp.close()
  await stack.until('offline', () =>
    stack.of('tp-volt-1', 'online').find((m) => (m.payload as { online: boolean }).online === false),
  )
  const metasBefore = stack.of('tp-volt-1', 'meta').length
  cp = await connect()
  const again: { status: string } = await call('BootNotification', {
    chargePointVendor: 'ThirdParty',
    chargePointModel: 'TP-22',
    chargeBoxSerialNumber: 'SN-42',
  })
  expect(again.status).toBe('Accepted')
  const online = () => stack.of('tp-volt-1', 'online').map((m) => (m.payload as { online: boolean }).online)
  await stack.until('online again', () => online().at(-1) === true)
  expect(online().slice(-2)).toEqual([false, true])
  const meta = await stack.until(
    'meta after the second boot',
    () => stack.of('tp-volt-1', 'meta').length > metasBefore && stack.of('tp-volt-1', 'meta').at(-1),
  )
  expect((meta.payload as StationMeta).ocpp).toMatchObject({
    identity,
    protocol: 'ocpp1.6',
    vendor: 'ThirdParty',
    model: 'TP-22',
    serial_number: 'SN-42',
  })

  // The next car's session reports no SoC: its end carries none, not the previous car's 57%.
  const second: { transactionId: number } = await call('StartTransaction', {
    connectorId: 1,
    idTag: 'CARD-8',
    meterStart: 21_500,
    timestamp: noMs(Date.now()),
  })
  await call('StopTransaction', {
    transactionId: second.transactionId,
    meterStop: 21_900,
    timestamp: noMs(Date.now()),
  })
  const last = await stack.until('the second session stopped', () =>
    sessions('tp-volt-1').find(
      (e) => e.event === 'stopped' && e.session.endsWith(`-${second.transactionId}`),
    ),
  )
  expect(last).toMatchObject({ energy_wh: 400, reason: 'Local' })
  expect(last.soc_pct).toBeUndefined()
  cp.close()
})

/** A charger on a bare WebSocket: answers the gateway's calls and waits for answers to its own. */
class Raw {
  private readonly answers = new Map<string, (frame: unknown[]) => void>()
  private ids = 0
  readonly calls: unknown[][] = []
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as unknown[]
      if (frame[0] === 2) {
        this.calls.push(frame)
        // What a station says to a GetReport or SetVariables it accepts; anything else: an empty result.
        ws.send(JSON.stringify([3, frame[1], frame[2] === 'GetReport' ? { status: 'Accepted' } : {}]))
      } else this.answers.get(String(frame[1]))?.(frame)
    })
  }

  static async open(identity: string, password: string, offer: string[]): Promise<Raw> {
    const ws = new WebSocket(`${stack.gateway.ocppUrl}/beibei/${identity}`, offer, {
      headers: { authorization: `Basic ${Buffer.from(`${identity}:${password}`).toString('base64')}` },
    })
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    return new Raw(ws)
  }

  /** Sends a CALL; resolves with the CALLRESULT or CALLERROR frame. */
  call(action: string, payload: unknown): Promise<unknown[]> {
    const id = `raw-${++this.ids}`
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${action}`)), 5_000)
      this.answers.set(id, (frame) => {
        clearTimeout(timer)
        resolve(frame)
      })
      this.ws.send(JSON.stringify([2, id, action, payload]))
    })
  }

  close(): void {
    this.ws.close()
  }
}

test('several subprotocols offered: the first the gateway speaks, in the charger order of preference', async () => {
  const password = await stack.addCharger('beibei', 'TP-Multi')
  for (const [offer, chosen] of [
    [['ocpp2.0.1', 'ocpp1.6'], 'ocpp2.0.1'],
    [['ocpp1.6', 'ocpp2.0.1'], 'ocpp1.6'],
    [['ocpp2.1', 'ocpp1.5', 'ocpp1.6'], 'ocpp1.6'],
  ] as const) {
    const raw = await Raw.open('TP-Multi', password, [...offer])
    expect(raw.ws.protocol).toBe(chosen)
    raw.close()
  }
  // As chargers write the header by hand: a comma and a space between the versions.
  const url = new URL(`${stack.gateway.ocppUrl}/beibei/TP-Multi`)
  const answer = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        'sec-websocket-protocol': 'ocpp2.0.1, ocpp1.6',
        authorization: `Basic ${Buffer.from(`TP-Multi:${password}`).toString('base64')}`,
      },
    })
    req.once('upgrade', (res: IncomingMessage, socket: Socket) => {
      socket.destroy()
      resolve(res)
    })
    req.once('response', (res: IncomingMessage) => reject(new Error(`refused: ${res.statusCode}`)))
    req.once('error', reject)
    req.end()
  })
  expect(answer.statusCode).toBe(101)
  expect(answer.headers['sec-websocket-protocol']).toBe('ocpp2.0.1')
})

test('a raw OCPP 2.0.1 station: heartbeat before boot, a transaction without meter values at its start, reports and notifications, the end SoC', async () => {
  const password = await stack.addCharger('beibei', 'TP-201')
  const raw = await Raw.open('TP-201', password, ['ocpp2.0.1', 'ocpp1.6'])
  expect(raw.ws.protocol).toBe('ocpp2.0.1')

  const early = await raw.call('Heartbeat', {})
  expect(early[0]).toBe(4)
  expect(early[2]).toBe('SecurityError')

  const boot = await raw.call('BootNotification', {
    reason: 'PowerUp',
    chargingStation: { model: 'TP-201-AC', vendorName: 'ThirdParty' },
  })
  expect(boot[0]).toBe(3)
  expect(boot[2]).toMatchObject({ status: 'Accepted', interval: stack.config.heartbeatIntervalS })
  expect((await raw.call('Heartbeat', {}))[0]).toBe(3)
  // After boot the gateway asks for the EVSEs' rated power; the station reports it, in kW.
  await stack.until('GetReport from the gateway', () => raw.calls.find((c) => c[2] === 'GetReport'))
  const report = await raw.call('NotifyReport', {
    requestId: 1,
    generatedAt: noMs(Date.now()),
    seqNo: 0,
    reportData: [
      {
        component: { name: 'EVSE', evse: { id: 1 } },
        variable: { name: 'Power' },
        variableAttribute: [{ type: 'Actual', value: '0' }],
        variableCharacteristics: { unit: 'kW', dataType: 'decimal', maxLimit: 22, supportsMonitoring: false },
      },
    ],
  })
  expect(report).toEqual([3, report[1], {}])
  for (const [action, payload] of [
    ['FirmwareStatusNotification', { status: 'Installed', requestId: 3 }],
    ['LogStatusNotification', { status: 'Uploaded', requestId: 4 }],
    ['SecurityEventNotification', { type: 'StartupOfTheDevice', timestamp: noMs(Date.now()) }],
  ] as const) {
    expect(await raw.call(action, payload)).toEqual([3, expect.any(String), {}])
    expect(await stack.gateway.metrics.get('evmon_gateway_events_total', { type: action })).toBe(1)
  }

  await raw.call('StatusNotification', {
    timestamp: plus8(Date.now()),
    connectorStatus: 'Occupied',
    evseId: 1,
    connectorId: 1,
  })
  // Started without meterValue and without an id token (a cable plugged in before anyone badged).
  const tStart = plus8(Date.now() - 3_000)
  const started = await raw.call('TransactionEvent', {
    eventType: 'Started',
    timestamp: tStart,
    triggerReason: 'CablePluggedIn',
    seqNo: 0,
    transactionInfo: { transactionId: 'TP-TX-1' },
    evse: { id: 1, connectorId: 1 },
  })
  expect(started).toEqual([3, expect.any(String), {}])
  const tMeter = noMs(Date.now() - 1_000)
  await raw.call('TransactionEvent', {
    eventType: 'Updated',
    timestamp: tMeter,
    triggerReason: 'MeterValuePeriodic',
    seqNo: 1,
    transactionInfo: { transactionId: 'TP-TX-1', chargingState: 'Charging' },
    meterValue: [
      {
        timestamp: tMeter,
        sampledValue: [
          { value: 1234.5 },
          { value: 11, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'kW' } },
          { value: 40, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } },
        ],
      },
    ],
  })
  const sample = await stack.until('telemetry while charging', () =>
    stack
      .of('tp-201', 'telemetry')
      .map((m) => m.payload as Telemetry)
      .find((t) => t.connectors[0]?.power_w !== undefined),
  )
  expect(sample.connectors[0]).toMatchObject({
    id: 1,
    status: 'Charging',
    energy_wh: 1234.5,
    power_w: 11_000,
    soc_pct: 40,
    measured_at: Date.parse(tMeter),
    session: 'TP-TX-1',
  })

  const tEnd = noMs(Date.now())
  await raw.call('TransactionEvent', {
    eventType: 'Ended',
    timestamp: tEnd,
    triggerReason: 'EVDeparted',
    seqNo: 2,
    transactionInfo: { transactionId: 'TP-TX-1' },
    meterValue: [
      {
        timestamp: tEnd,
        sampledValue: [
          { value: 5234.5, context: 'Transaction.End' },
          { value: 80, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' }, context: 'Transaction.End' },
        ],
      },
    ],
  })
  const [start, end] = await stack.until('both session events', () => {
    const s = sessions('tp-201')
    return s.length === 2 && s
  })
  expect(start).toEqual({ ts: Date.parse(tStart), event: 'started', session: 'TP-TX-1', connector: 1 })
  // No register at the start (Started had no meterValue): the energy is not reported rather than
  // guessed from a later reading; the end SoC is the Ended event's; no stoppedReason means Local.
  expect(end).toEqual({
    ts: Date.parse(tEnd),
    event: 'stopped',
    session: 'TP-TX-1',
    connector: 1,
    soc_pct: 80,
    reason: 'Local',
  })
  const meta = await stack.until('meta with the reported rating', () =>
    stack
      .of('tp-201', 'meta')
      .map((m) => m.payload as StationMeta)
      .find((m) => m.connectors.some((c) => c.max_power_w !== undefined)),
  )
  expect(meta.connectors).toEqual([{ id: 1, max_power_w: 22_000 }])
  raw.close()
})
