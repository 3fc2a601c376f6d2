import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import {
  messageToPoints,
  stationTopic,
  toLine,
  type LiveSnapshot,
  type LiveFrame,
  type MessageKind,
  type Telemetry,
} from '@evmon/contracts'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest'
import WebSocket from 'ws'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import { LIVE_PERIOD_MS } from '../src/live/live-view.ts'
import { connectorSample, encode, stationMeta, telemetry } from './fixtures.ts'

const SITE = 'beibei'
const influxUrl = inject('influxUrl')
const database = `api_int_${randomBytes(4).toString('hex')}`

let broker: BrokerHandle
let api: ApiHandle
let publisher: mqtt.MqttClient
let dashboardDir: string

async function influx(path: string, body: string | URLSearchParams): Promise<void> {
  const response = await fetch(`${influxUrl}${path}`, { method: 'POST', body })
  if (!response.ok) throw new Error(`InfluxDB ${path}: ${response.status} ${await response.text()}`)
}

const createDatabase = () => influx('/query', new URLSearchParams({ q: `CREATE DATABASE "${database}"` }))
const dropDatabase = () => influx('/query', new URLSearchParams({ q: `DROP DATABASE "${database}"` }))

const TOKEN = 'api-int-operator'
const wsUrl = (path: string) => `${api.url.replace('http', 'ws')}${path}&access_token=${TOKEN}`

async function getJson<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return { status: response.status, body: (await response.json()) as T }
}

function publish(station: string, kind: MessageKind, payload: unknown, retain = kind !== 'telemetry') {
  return publisher.publishAsync(stationTopic(SITE, station, kind), encode(payload), { qos: 1, retain })
}

async function publishStation(station: string, powerW: number): Promise<void> {
  await publish(station, 'meta', stationMeta(`${station} name`))
  await publish(station, 'online', { online: true, ts: Date.now() })
  await publish(
    station,
    'telemetry',
    telemetry(Date.now(), 1, [connectorSample(1, powerW), connectorSample(2, 0)]),
  )
}

beforeAll(async () => {
  dashboardDir = mkdtempSync(join(tmpdir(), 'evmon-api-dashboard-'))
  mkdirSync(join(dashboardDir, 'assets'))
  writeFileSync(join(dashboardDir, 'index.html'), '<!doctype html><title>evmon test dashboard</title>')
  writeFileSync(join(dashboardDir, 'assets', 'app-1a2b.js'), 'console.log("evmon")')
  await createDatabase()
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  api = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_DASHBOARD_DIR: dashboardDir,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `operator:${createHash('sha256').update(TOKEN).digest('hex')}`,
    }),
  )
  publisher = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'api-int-publisher' })
  await vi.waitFor(async () => expect((await getJson('/healthz')).status).toBe(200), { timeout: 10_000 })
})

afterAll(async () => {
  await publisher?.endAsync()
  await api?.close()
  await broker?.close()
  await dropDatabase()
  rmSync(dashboardDir, { recursive: true, force: true })
})

describe('live view over MQTT', () => {
  test('health reports MQTT connected and InfluxDB reachable', async () => {
    expect(await getJson('/healthz')).toEqual({
      status: 200,
      body: { ok: true, mqtt: { connected: true }, influx: { reachable: true } },
    })
  })

  test('stations and the live view reflect what two stations publish', async () => {
    await publishStation('zn-super', 450_000)
    await publishStation('kc-fast-1', 120_000)
    await vi.waitFor(async () => {
      const { body } = await getJson<LiveSnapshot>(`/api/v1/live?site=${SITE}`)
      expect(body.stations.map((s) => [s.station, s.online, s.stale, s.connectors[0]?.power_w])).toEqual([
        ['kc-fast-1', true, false, 120_000],
        ['zn-super', true, false, 450_000],
      ])
      expect(body.site_power_w).toBe(122_000 + 452_000)
    })
    const { status, body } = await getJson<{ stations: Array<Record<string, unknown>> }>(
      `/api/v1/stations?site=${SITE}`,
    )
    expect(status).toBe(200)
    expect(body.stations.map((s) => [s.id, s.name, s.online])).toEqual([
      ['kc-fast-1', 'kc-fast-1 name', true],
      ['zn-super', 'zn-super name', true],
    ])
    expect(body.stations[1]?.connectors).toEqual(stationMeta('x').connectors)
  })

  test("a station's last will takes it offline and out of the site power", async () => {
    const station = await mqtt.connectAsync(broker.mqttUrl, {
      clientId: 'api-int-kc-ac',
      will: {
        topic: stationTopic(SITE, 'kc-ac', 'online'),
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: true,
      },
    })
    await station.publishAsync(
      stationTopic(SITE, 'kc-ac', 'online'),
      encode({ online: true, ts: Date.now() }),
      {
        qos: 1,
        retain: true,
      },
    )
    await station.publishAsync(
      stationTopic(SITE, 'kc-ac', 'telemetry'),
      encode(telemetry(Date.now(), 1, [], 7_000)),
      {
        qos: 1,
      },
    )
    const online = async () => (await getJson<LiveSnapshot>('/api/v1/live?station=kc-ac')).body
    await vi.waitFor(async () => expect((await online()).site_power_w).toBe(7_000))
    station.stream.destroy()
    await vi.waitFor(async () => expect((await online()).stations[0]?.online).toBe(false))
    expect((await online()).site_power_w).toBe(0)
    await station.endAsync(true)
  })

  test('the WebSocket stream sends a snapshot at once, then deltas as telemetry changes', async () => {
    await publishStation('zn-super', 300_000)
    const frames: LiveFrame[] = []
    const ws = new WebSocket(wsUrl('/api/v1/live/ws?station=zn-super'))
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as LiveFrame))
    const power = (f: LiveFrame | undefined) => f?.data.stations[0]?.connectors[0]?.power_w
    await vi.waitFor(() => expect(frames.length).toBeGreaterThan(0))
    expect(frames[0]?.type).toBe('snapshot')
    expect(frames[0]?.data.stations.map((s) => s.station)).toEqual(['zn-super'])

    for (const powerW of [310_000, 320_000, 330_000]) {
      await publish('zn-super', 'telemetry', telemetry(Date.now(), 2, [connectorSample(1, powerW)]))
    }
    await vi.waitFor(() => expect(power(frames.at(-1))).toBe(330_000), { timeout: 5_000 })
    // Deltas go out as live-view periods begin, at most one per period (the snapshot, sent on connect,
    // may fall anywhere in its period).
    const times = frames.slice(1).map((f) => f.data.ts)
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(LIVE_PERIOD_MS - 50)
    ws.close()
  })

  test('a WebSocket without a valid token is refused before the upgrade', async () => {
    const ws = new WebSocket(
      `${api.url.replace('http', 'ws')}/api/v1/live/ws?station=zn-super&access_token=wrong`,
    )
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('open', () => resolve(101))
    })
    expect(status).toBe(401)
  })

  test('a WebSocket with a hostile filter is refused before the upgrade', async () => {
    const ws = new WebSocket(wsUrl(`/api/v1/live/ws?station=${encodeURIComponent("x' OR 1=1")}`))
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('open', () => resolve(101))
    })
    expect(status).toBe(400)
  })

  test('an upgrade to a plain route is answered over HTTP and its socket closed', async () => {
    // Only the WebSocket routes' context has @fastify/websocket; /live answers the upgrade as a GET.
    const ws = new WebSocket(wsUrl('/api/v1/live?station=zn-super'))
    const answer = await new Promise<{ status: number; closed: Promise<unknown> }>((resolve) => {
      ws.on('unexpected-response', (_req, res) =>
        resolve({ status: res.statusCode ?? 0, closed: once(res.socket, 'close') }),
      )
      ws.on('open', () => resolve({ status: 101, closed: Promise.resolve() }))
    })
    expect(answer.status).toBe(200)
    await answer.closed
    const missing = new WebSocket(wsUrl('/api/v1/no-such-route?x=1'))
    const status = await new Promise<number>((resolve) => {
      missing.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      missing.on('open', () => resolve(101))
    })
    expect(status).toBe(404)
  })
})

describe('history from InfluxDB', () => {
  const STEP_MS = 10_000
  const SAMPLES = 60
  // InfluxDB aligns buckets to the epoch: starting on a whole 10 minutes, 1- and 5-minute buckets line up.
  const base = Math.floor(Date.now() / 600_000) * 600_000 - 20 * 60_000
  const samples: Telemetry[] = Array.from({ length: SAMPLES }, (_, i) =>
    telemetry(base + i * STEP_MS, i, [
      connectorSample(1, 100_000 + i * 1_000, { soc_pct: 20 + i / 2 }),
      connectorSample(2, i % 2 === 0 ? 0 : 50_000),
    ]),
  )
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length

  beforeAll(async () => {
    const lines = samples.flatMap((payload) =>
      messageToPoints({ kind: 'telemetry', site: SITE, station: 'hist-1', payload }, Date.now()).map(toLine),
    )
    await influx(`/write?db=${database}&precision=ms`, lines.join('\n'))
  })

  test('history returns the written points as one-minute means per series', async () => {
    const from = new Date(base).toISOString()
    const to = base + SAMPLES * STEP_MS
    const { status, body } = await getJson<{
      site: string
      every: string
      series: {
        station: Array<Record<string, number>>
        connectors: Record<string, Array<Record<string, number>>>
      }
    }>(`/api/v1/stations/hist-1/history?from=${from}&to=${to}&every=1m`)
    expect(status).toBe(200)
    expect(body).toMatchObject({ site: SITE, station: 'hist-1', from: base, to, every: '1m' })

    const perBucket = 60_000 / STEP_MS
    const buckets = Array.from({ length: SAMPLES / perBucket }, (_, b) =>
      samples.slice(b * perBucket, (b + 1) * perBucket),
    )
    expect(body.series.station.map((p) => p.t)).toEqual(buckets.map((b) => b[0]?.ts))
    expect(body.series.station.map((p) => p.grid_power_w)).toEqual(
      buckets.map((b) => mean(b.map((s) => s.meter.grid_power_w!))),
    )
    expect(Object.keys(body.series.connectors).sort()).toEqual(['1', '2'])
    const connector = (id: number, b: Telemetry[]) => b.map((s) => s.connectors.find((c) => c.id === id)!)
    body.series.connectors['1']!.forEach((point, i) => {
      expect(point.power_w).toBeCloseTo(mean(connector(1, buckets[i]!).map((c) => c.power_w!)), 6)
      expect(point.soc_pct).toBeCloseTo(mean(connector(1, buckets[i]!).map((c) => c.soc_pct!)), 6)
    })
    expect(body.series.connectors['2']!.map((p) => p.soc_pct)).toEqual(buckets.map(() => null))
  })

  test('fields narrow history to the named series', async () => {
    const { body } = await getJson<{
      series: { station: Array<Record<string, number>>; connectors: object }
    }>(
      `/api/v1/stations/hist-1/history?from=${base}&to=${base + SAMPLES * STEP_MS}&every=5m&fields=aux_power_w`,
    )
    expect(body.series.connectors).toEqual({})
    expect(body.series.station).toHaveLength(2)
    for (const point of body.series.station) expect(Object.keys(point).sort()).toEqual(['aux_power_w', 't'])
  })

  test('a station with no history is 404', async () => {
    const { status, body } = await getJson('/api/v1/stations/never-seen/history')
    expect(status).toBe(404)
    expect(body.message).toBe('station never-seen not found')
  })

  test.each([
    ['station id with a quote', "/api/v1/stations/hist-1'/history"],
    ['station id with a semicolon', '/api/v1/stations/hist-1;DROP%20DATABASE%20x/history'],
    ['station id with a comment', '/api/v1/stations/hist-1--%0A/history'],
    ['station id with a double quote', '/api/v1/stations/%22hist-1%22/history'],
    ['station id as a regex', '/api/v1/stations/%2F.*%2F/history'],
    ['site as a regex', '/api/v1/stations/hist-1/history?site=/.*/'],
    ['site with a quote', "/api/v1/stations/hist-1/history?site=beibei'%20OR%20'1'='1"],
    ['from with a quote', "/api/v1/stations/hist-1/history?from=2025-01-01'"],
    ['from as a word', '/api/v1/stations/hist-1/history?from=now()-1h'],
    ['every with a statement', '/api/v1/stations/hist-1/history?every=1m);DROP%20DATABASE%20x;--'],
    ['every of zero', '/api/v1/stations/hist-1/history?every=0s'],
    ['every in milliseconds', '/api/v1/stations/hist-1/history?every=1ms'],
    ['fields with a function', '/api/v1/stations/hist-1/history?fields=mean(power_w)'],
    ['unknown field', '/api/v1/stations/hist-1/history?fields=session'],
    ['reversed range', `/api/v1/stations/hist-1/history?from=${base + 60_000}&to=${base}`],
    ['huge range', '/api/v1/stations/hist-1/history?from=0&to=9000000000000'],
    ['too many buckets', '/api/v1/stations/hist-1/history?from=2025-01-01&to=2025-02-01&every=1s'],
    ['time past InfluxDB', '/api/v1/stations/hist-1/history?to=99999999999999'],
  ])('%s is refused with 400 and a message', async (_name, path) => {
    const { status, body } = await getJson(path)
    expect(status).toBe(400)
    expect(body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/\S/) })
  })
})

describe('dashboard', () => {
  test('the built dashboard is served at / with the app for any other page', async () => {
    for (const path of ['/', '/stations/zn-super']) {
      const response = await fetch(`${api.url}${path}`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toMatch(/^text\/html/)
      expect(response.headers.get('cache-control')).toBe('no-cache')
      expect(await response.text()).toContain('evmon test dashboard')
    }
  })

  test('hashed assets are cacheable forever, missing files are 404', async () => {
    const asset = await fetch(`${api.url}/assets/app-1a2b.js`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toContain('immutable')
    await asset.arrayBuffer()
    const missing = await fetch(`${api.url}/assets/missing.js`)
    expect(missing.status).toBe(404)
    await missing.arrayBuffer()
  })

  test('unknown API paths are a JSON 404, not the dashboard', async () => {
    const { status, body } = await getJson('/api/v1/nothing-here')
    expect(status).toBe(404)
    expect(body.code).toBe('EVMON_NOT_FOUND')
  })
})
