import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig as loadApiConfig, start as startApi, type ApiHandle } from '@evmon/api'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import {
  ALL_STATIONS_FILTER,
  decodeMessage,
  stationTopic,
  type DecodedMessage,
  type LiveView,
  type MessageKind,
  type SessionsResponse,
} from '@evmon/contracts'
import { Chargers, start as startGateway, type GatewayHandle } from '@evmon/gateway'
import {
  loadConfig as loadIngestConfig,
  silentLogger,
  start as startIngest,
  type IngestHandle,
} from '@evmon/ingest'
import mqtt, { type MqttClient } from 'mqtt'
import { RPCClient } from 'ocpp-rpc'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'

// The same charging, told once by an OCPP charger through the gateway (1.6J and 2.0.1) and once by a
// station on the MQTT contract, must give the same figures in InfluxDB, in the API's sessions and in
// its live view. Every component is real: influxd, aedes, ingest, the API, the gateway, ocpp-rpc.
// The expected figures are also recomputed from the readings the test sent.

const SITE = 'parity'
const influxUrl = inject('influxUrl')
const database = `gateway_parity_${randomBytes(4).toString('hex')}`
const TOKEN = 'gateway-parity-engineer'

let dir: string
let broker: BrokerHandle
let gateway: GatewayHandle
let ingest: IngestHandle
let api: ApiHandle
let subscriber: MqttClient
let publisher: MqttClient
const seen: DecodedMessage[] = []
const passwords = new Map<string, string>()

type ClientOptions = ConstructorParameters<typeof RPCClient>[0]

/** One reading of the charging: time, register, power, SoC. */
interface Reading {
  ts: number
  energyWh: number
  powerW: number
  socPct: number
}
/** What happened, as the twins tell it; filled while the OCPP charger runs. */
interface Story {
  startTs: number
  startWh: number
  readings: Reading[]
  stopTs: number
  stopWh: number
  reason: string
}

async function influxQuery(q: string): Promise<unknown[][]> {
  const url = `${influxUrl}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`
  const body = (await (await fetch(url)).json()) as { results: { series?: { values: unknown[][] }[] }[] }
  return body.results[0]?.series?.[0]?.values ?? []
}

async function until<T>(
  what: string,
  find: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await find()
    if (found) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as T
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evmon-gateway-parity-'))
  await fetch(`${influxUrl}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `CREATE DATABASE "${database}"` }),
  })
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  ingest = await startIngest(
    {
      ...loadIngestConfig({}),
      mqttUrl: broker.mqttUrl,
      influxUrl,
      influxDb: database,
      clientId: `gateway-parity-ingest-${randomBytes(4).toString('hex')}`,
      flushIntervalMs: 50,
      metricsPort: 0,
      deadLetterPath: join(dir, 'dead-letter.ndjson'),
      spoolDir: join(dir, 'spool'),
    },
    { logger: silentLogger },
  )
  const dashboardDir = join(dir, 'dashboard')
  mkdirSync(dashboardDir)
  writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>parity</title>')
  api = await startApi(
    loadApiConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_DASHBOARD_DIR: dashboardDir,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `engineer:${createHash('sha256').update(TOKEN).digest('hex')}`,
    }),
  )
  const chargersFile = join(dir, 'chargers.json')
  const chargers = Chargers.empty()
  for (const identity of ['CS-OCPP-16', 'CS-OCPP-201'])
    passwords.set(identity, (await chargers.add(SITE, identity)).password)
  await chargers.save(chargersFile)
  gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    chargersFile,
    stateFile: join(dir, 'state.json'),
    mqttUrl: broker.mqttUrl,
    sampleIntervalMs: 200,
    staleAfterMs: 60_000,
    heartbeatIntervalS: 60,
    authorize: { kind: 'accept-all' },
    maxFrameBytes: 64 * 1024,
    callRatePerS: 50,
    callBurst: 200,
    log: () => {},
  })
  subscriber = await mqtt.connectAsync(broker.mqttUrl, { clientId: `parity-sub-${Date.now()}` })
  subscriber.on('message', (topic, payload) => {
    const decoded = decodeMessage(topic, payload, Date.now())
    if (decoded.ok) seen.push(decoded.message)
  })
  await subscriber.subscribeAsync(ALL_STATIONS_FILTER, { qos: 1 })
  publisher = await mqtt.connectAsync(broker.mqttUrl, { clientId: `parity-pub-${Date.now()}` })
}, 60_000)

afterAll(async () => {
  await publisher?.endAsync()
  await subscriber?.endAsync()
  await gateway?.close()
  await api?.close()
  await ingest?.close()
  await broker?.close()
  await fetch(`${influxUrl}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q: `DROP DATABASE "${database}"` }),
  })
  rmSync(dir, { recursive: true, force: true })
})

const POWERS_KW = [50, 62.5, 75, 80, 71.5, 40]
const iso = (ms: number) => new Date(ms).toISOString()

/** Waits until the gateway's telemetry for `station` carries the reading taken at `ts`. */
const carried = (station: string, ts: number) =>
  until(`${station} telemetry with the reading at ${ts}`, () =>
    seen.some(
      (m) =>
        m.kind === 'telemetry' &&
        m.station === station &&
        m.payload.connectors.some((c) => (c.measured_at ?? m.payload.ts) === ts && c.energy_wh !== undefined),
    ),
  )

/** Charges through the gateway as an OCPP charger; returns the story it told. */
async function chargeOverOcpp(identity: string, protocol: 'ocpp1.6' | 'ocpp2.0.1'): Promise<Story> {
  const station = identity.toLowerCase()
  const client = new RPCClient({
    endpoint: `${gateway.ocppUrl}/${SITE}`,
    identity,
    password: passwords.get(identity),
    protocols: [protocol],
    strictMode: true,
    reconnect: false,
  } as Partial<ClientOptions> as ClientOptions)
  await client.connect()
  const v16 = protocol === 'ocpp1.6'
  await client.call(
    'BootNotification',
    v16
      ? { chargePointVendor: 'Parity', chargePointModel: 'Twin' }
      : { reason: 'PowerUp', chargingStation: { vendorName: 'Parity', model: 'Twin' } },
  )
  const status = (s16: string, s201: string) =>
    client.call(
      'StatusNotification',
      v16
        ? { connectorId: 1, errorCode: 'NoError', status: s16, timestamp: iso(Date.now()) }
        : { timestamp: iso(Date.now()), connectorStatus: s201, evseId: 1, connectorId: 1 },
    )
  await status('Preparing', 'Occupied')
  const story: Story = {
    startTs: Date.now(),
    startWh: 1_234_000,
    readings: [],
    stopTs: 0,
    stopWh: 0,
    reason: '',
  }
  let transactionId: number | undefined
  let seqNo = 0
  const txEvent = (eventType: string, ts: number, extra: Record<string, unknown>) =>
    client.call('TransactionEvent', {
      eventType,
      timestamp: iso(ts),
      triggerReason:
        eventType === 'Ended' ? 'EVDeparted' : eventType === 'Started' ? 'Authorized' : 'MeterValuePeriodic',
      seqNo: seqNo++,
      transactionInfo: {
        transactionId: `PARITY-${identity}`,
        chargingState: 'Charging',
        ...(extra.info as object),
      },
      evse: { id: 1, connectorId: 1 },
      ...(eventType === 'Started' && { idToken: { idToken: 'PARITY', type: 'Central' } }),
      ...(extra.meterValue !== undefined && { meterValue: extra.meterValue }),
    })
  if (v16) {
    const answer = (await client.call('StartTransaction', {
      connectorId: 1,
      idTag: 'PARITY',
      meterStart: story.startWh,
      timestamp: iso(story.startTs),
    })) as { transactionId: number }
    transactionId = answer.transactionId
    await status('Charging', 'Occupied')
  } else {
    // (2.0.1: the Started event below carries the start register.)
    await txEvent('Started', story.startTs, {
      meterValue: [
        {
          timestamp: iso(story.startTs),
          sampledValue: [
            {
              value: story.startWh,
              measurand: 'Energy.Active.Import.Register',
              context: 'Transaction.Begin',
              unitOfMeasure: { unit: 'Wh' },
            },
          ],
        },
      ],
    })
  }
  await carried(station, story.startTs)
  let energyWh = story.startWh
  for (const [i, kw] of POWERS_KW.entries()) {
    await new Promise((r) => setTimeout(r, 250))
    const ts = Date.now()
    energyWh += 700 + 100 * i
    const reading: Reading = { ts, energyWh, powerW: kw * 1000, socPct: 30 + 5 * i }
    story.readings.push(reading)
    if (v16) {
      // 1.6 in kW and kWh, as strings.
      await client.call('MeterValues', {
        connectorId: 1,
        transactionId,
        meterValue: [
          {
            timestamp: iso(ts),
            sampledValue: [
              {
                value: (energyWh / 1000).toFixed(3),
                measurand: 'Energy.Active.Import.Register',
                unit: 'kWh',
                context: 'Sample.Periodic',
              },
              { value: String(kw), measurand: 'Power.Active.Import', unit: 'kW', context: 'Sample.Periodic' },
              {
                value: String(reading.socPct),
                measurand: 'SoC',
                unit: 'Percent',
                context: 'Sample.Periodic',
              },
            ],
          },
        ],
      })
    } else {
      // 2.0.1 in W and kWh, as numbers with a unit of measure.
      await txEvent('Updated', ts, {
        meterValue: [
          {
            timestamp: iso(ts),
            sampledValue: [
              {
                value: energyWh / 1000,
                measurand: 'Energy.Active.Import.Register',
                unitOfMeasure: { unit: 'kWh' },
              },
              { value: kw * 1000, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
              { value: reading.socPct, measurand: 'SoC', unitOfMeasure: { unit: 'Percent' } },
            ],
          },
        ],
      })
    }
    await carried(station, ts)
  }
  await new Promise((r) => setTimeout(r, 250))
  story.stopTs = Date.now()
  story.stopWh = energyWh
  if (v16) {
    story.reason = 'EVDisconnected'
    await client.call('StopTransaction', {
      transactionId,
      meterStop: story.stopWh,
      timestamp: iso(story.stopTs),
      reason: story.reason,
    })
    await status('Finishing', 'Occupied')
  } else {
    story.reason = 'StoppedByEV'
    await txEvent('Ended', story.stopTs, {
      info: { chargingState: 'EVConnected', stoppedReason: story.reason },
      meterValue: [
        {
          timestamp: iso(story.stopTs),
          sampledValue: [
            {
              value: story.stopWh,
              measurand: 'Energy.Active.Import.Register',
              context: 'Transaction.End',
              unitOfMeasure: { unit: 'Wh' },
            },
          ],
        },
      ],
    })
  }
  await carried(station, story.stopTs)
  await until(`${station} session stop`, () =>
    seen.some((m) => m.kind === 'session' && m.station === station && m.payload.event === 'stopped'),
  )
  await client.close()
  return story
}

/** Tells the same story as a station on the MQTT contract. */
async function chargeOverMqtt(station: string, story: Story): Promise<void> {
  const publish = (kind: MessageKind, payload: unknown) =>
    publisher.publishAsync(stationTopic(SITE, station, kind), JSON.stringify(payload), {
      qos: 1,
      retain: kind !== 'telemetry' && kind !== 'session',
    })
  await publish('meta', { v: 1, name: station, connectors: [{ id: 1 }] })
  await publish('online', { online: true, ts: story.startTs })
  const session = `${station}-1`
  await publish('status', { ts: story.startTs, connector: 1, status: 'Charging', error_code: 'NoError' })
  await publish('session', { ts: story.startTs, event: 'started', session, connector: 1 })
  const sample = (ts: number, seq: number, readings: Record<string, number>) =>
    publish('telemetry', {
      v: 1,
      ts,
      seq,
      meter: {},
      connectors: [{ id: 1, status: 'Charging', ...readings, session }],
    })
  // The registers at start and stop, as StartTransaction/StopTransaction (or the Begin/End meter
  // values) carry them, and the readings in between.
  await sample(story.startTs, 0, { energy_wh: story.startWh })
  for (const [i, r] of story.readings.entries()) {
    await sample(r.ts, i + 1, { power_w: r.powerW, energy_wh: r.energyWh, soc_pct: r.socPct })
  }
  await sample(story.stopTs, story.readings.length + 1, { energy_wh: story.stopWh })
  await publish('session', {
    ts: story.stopTs,
    event: 'stopped',
    session,
    connector: 1,
    energy_wh: story.stopWh - story.startWh,
    soc_pct: story.readings.at(-1)?.socPct,
    reason: story.reason,
  })
}

/** The figures InfluxDB holds for a station's connector 1 readings. */
async function storedFigures(station: string) {
  const [row] = await influxQuery(
    `SELECT spread("energy_wh"), mean("power_w"), max("power_w"), count("power_w"), last("soc_pct") FROM "connector" WHERE "station" = '${station}' AND "connector" = '1'`,
  )
  const [, energyWh, meanW, peakW, count, socPct] = row as number[]
  return { energyWh, meanW, peakW, count, socPct }
}

describe.each([
  ['CS-OCPP-16', 'ocpp1.6' as const, 'twin-16'],
  ['CS-OCPP-201', 'ocpp2.0.1' as const, 'twin-201'],
])('%s (%s) and its MQTT twin', (identity, protocol, twin) => {
  const station = identity.toLowerCase()
  let story: Story

  beforeAll(async () => {
    story = await chargeOverOcpp(identity, protocol)
    await chargeOverMqtt(twin, story)
    // Both sessions stopped (their stop events stored) and the readings flushed.
    await until(
      'both session stops',
      async () =>
        (
          await influxQuery(
            `SELECT count("session") FROM "event" WHERE "type" = 'session_stopped' AND ("station" = '${station}' OR "station" = '${twin}')`,
          )
        )[0]?.[1] === 2,
    )
  }, 60_000)

  test('InfluxDB holds the same readings: energy, mean and peak power, SoC, one point per reading', async () => {
    const expected = {
      energyWh: story.stopWh - story.startWh,
      meanW: story.readings.reduce((s, r) => s + r.powerW, 0) / story.readings.length,
      peakW: Math.max(...story.readings.map((r) => r.powerW)),
      count: story.readings.length,
      socPct: story.readings.at(-1)!.socPct,
    }
    const ocpp = await storedFigures(station)
    const mqtt = await storedFigures(twin)
    for (const figures of [ocpp, mqtt]) {
      expect(figures.energyWh).toBeCloseTo(expected.energyWh, 6)
      expect(figures.meanW).toBeCloseTo(expected.meanW, 6)
      expect(figures.peakW).toBeCloseTo(expected.peakW, 6)
      expect(figures.count).toBe(expected.count)
      expect(figures.socPct).toBe(expected.socPct)
    }
  })

  // Not compared yet: soc_end. The gateway's stop event takes the SoC of the charger's latest reading,
  // which is the stop's register reading (no SoC), so the OCPP session ends with none.
  test("the API's sessions give the same energy, times and stop reason", async () => {
    const { sessions } = await getJson<SessionsResponse>(`/api/v1/sessions?site=${SITE}&limit=500`)
    const of = (s: string) => sessions.find((x) => x.station === s)
    const pick = (s: ReturnType<typeof of>) => ({
      started_at: s?.started_at,
      ended_at: s?.ended_at,
      energy_wh: s?.energy_wh,
      reason: s?.reason,
    })
    expect(pick(of(station))).toEqual(pick(of(twin)))
    expect(pick(of(station))).toEqual({
      started_at: story.startTs,
      ended_at: story.stopTs,
      energy_wh: story.stopWh - story.startWh,
      reason: story.reason,
    })
  })

  test('the live view shows the same register for both: the one at the stop', async () => {
    const view = await getJson<LiveView>(`/api/v1/live?site=${SITE}`)
    const last = (s: string) => {
      const c = view.stations.find((x) => x.station === s)?.connectors.find((x) => x.id === 1)
      // The stop's register reading carries no power or SoC: both are not reported, never 0.
      return { energy_wh: c?.energy_wh, power_w: c?.power_w, soc_pct: c?.soc_pct }
    }
    expect(last(station)).toEqual(last(twin))
    expect(last(station)).toEqual({ energy_wh: story.stopWh, power_w: null, soc_pct: null })
  })
})
