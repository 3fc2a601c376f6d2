import { createHash } from 'node:crypto'
import { LiveSnapshot, stationTopic } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { connectorSample, encode, stationMeta, telemetry } from './fixtures.ts'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { influxUnavailable } from '../src/errors.ts'
import { FakeInflux, MemoryFeed } from './fakes.ts'

const T0 = 1_742_869_800_000
const OPERATOR_TOKEN = 'operator-test-token'
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

describe('api app', () => {
  let feed: MemoryFeed
  let influx: FakeInflux
  let app: FastifyInstance
  const now = T0 + 500

  const publishStation = (site: string, station: string, powerW: number): void => {
    feed.publish(stationTopic(site, station, 'meta'), encode(stationMeta(`${station} name`)))
    feed.publish(stationTopic(site, station, 'online'), encode({ online: true, ts: T0 }))
    feed.publish(
      stationTopic(site, station, 'telemetry'),
      encode(telemetry(T0, 7, [connectorSample(1, powerW)])),
    )
  }

  const get = async (url: string, token: string | null = OPERATOR_TOKEN) => {
    const headers = token === null ? {} : { authorization: `Bearer ${token}` }
    const response = await app.inject({ method: 'GET', url, headers })
    const isJson = String(response.headers['content-type']).startsWith('application/json')
    const body = (isJson ? response.json() : {}) as Record<string, unknown>
    return { status: response.statusCode, body, raw: response.body }
  }

  beforeEach(async () => {
    feed = new MemoryFeed()
    influx = new FakeInflux()
    const config = loadConfig({
      EVMON_LOG_LEVEL: 'silent',
      EVMON_DASHBOARD_DIR: '/nonexistent/evmon-dashboard',
      EVMON_API_TOKENS: `operator:${sha256(OPERATOR_TOKEN)}`,
    })
    app = await buildApp(config, { feed, influx, clock: () => now })
    await app.ready()
  })

  afterEach(async () => {
    await app.close()
  })

  test('the live view reflects messages from the feed and matches the contract', async () => {
    publishStation('beibei', 'zn-super', 450_000)
    publishStation('beibei', 'kc-fast-1', 100_000)
    const { status, body } = await get('/api/v1/live')
    expect(status).toBe(200)
    expect(Value.Errors(LiveSnapshot, body).First()).toBeUndefined()
    const snapshot = body as LiveSnapshot
    expect(snapshot.stations.map((s) => s.station)).toEqual(['kc-fast-1', 'zn-super'])
    expect(snapshot.site_power_w).toBe(452_000 + 102_000)
    const filtered = (await get('/api/v1/live?station=zn-super')).body as LiveSnapshot
    expect(filtered.stations.map((s) => s.station)).toEqual(['zn-super'])
    expect(filtered.site_power_w).toBe(452_000)
  })

  test('invalid messages are counted by reason and change nothing', async () => {
    feed.publish('evmon/v1/beibei/zn-super/telemetry', '{not json')
    feed.publish('evmon/v1/beibei/zn-super/telemetry', encode({ v: 1, ts: T0 }))
    feed.publish('evmon/v1/Bad Site/zn-super/meta', encode(stationMeta('x')))
    expect(((await get('/api/v1/live')).body as LiveSnapshot).stations).toEqual([])
    const metrics = (await get('/metrics')).raw
    expect(metrics).toContain('evmon_api_mqtt_rejected_total{reason="json"} 1')
    expect(metrics).toContain('evmon_api_mqtt_rejected_total{reason="schema"} 1')
    expect(metrics).toContain('evmon_api_mqtt_rejected_total{reason="topic"} 1')
  })

  test('a cleared retained description removes the station', async () => {
    publishStation('beibei', 'zn-super', 1_000)
    feed.publish(stationTopic('beibei', 'zn-super', 'meta'), '')
    expect(((await get('/api/v1/live')).body as LiveSnapshot).stations).toEqual([])
  })

  test('stations lists described stations with connectors and online flag', async () => {
    publishStation('beibei', 'zn-super', 450_000)
    publishStation('other', 'kc-ac', 7_000)
    feed.publish(stationTopic('other', 'kc-ac', 'online'), encode({ online: false }))
    const { status, body } = await get('/api/v1/stations')
    expect(status).toBe(200)
    const stations = body.stations as Array<Record<string, unknown>>
    expect(stations.map((s) => [s.site, s.id, s.online])).toEqual([
      ['other', 'kc-ac', false],
      ['beibei', 'zn-super', true],
    ])
    expect(stations[1]).toMatchObject({ name: 'zn-super name', cooling: 'liquid', location: { lat: 29.8 } })
    expect((stations[1]?.connectors as unknown[]).length).toBe(2)
    expect(((await get('/api/v1/stations?site=beibei')).body.stations as unknown[]).length).toBe(1)
  })

  test.each([
    "/api/v1/live?site=beibei'",
    '/api/v1/live?station=%22x%22',
    '/api/v1/live?site=a&site=b',
    '/api/v1/stations?site=/.*/',
    "/api/v1/stations/zn-super'%20OR%201=1/history",
    '/api/v1/stations/zn-super;DROP/history',
    '/api/v1/stations/zn-super--/history?site=x;y',
    '/api/v1/stations/zn-super/history?from=yesterday',
    "/api/v1/stations/zn-super/history?to=1742869800000'",
    '/api/v1/stations/zn-super/history?every=1ms',
    '/api/v1/stations/zn-super/history?every=10s;DROP%20DATABASE%20evmon',
    '/api/v1/stations/zn-super/history?fields=power_w)%20FROM%20x',
    '/api/v1/stations/zn-super/history?fields=status',
    '/api/v1/stations/zn-super/history?from=2025-03-25&to=2025-03-24',
    '/api/v1/stations/zn-super/history?from=0&to=9000000000000&every=1d',
    '/api/v1/stations/zn-super/history?from=2025-03-24&to=2025-03-25&every=1s',
  ])('%s is refused with 400 before any InfluxDB query', async (url) => {
    const { status, body } = await get(url)
    expect(status).toBe(400)
    expect(body.message).toEqual(expect.any(String))
    expect(influx.queries).toEqual([])
  })

  test('validation messages say what a parameter must look like', async () => {
    expect((await get('/api/v1/stations/zn-super/history?every=5x')).body.message).toBe(
      'querystring/every must be a bucket width of whole seconds, minutes, hours or days, such as 10s, 1m, 1h or 1d',
    )
    expect((await get('/api/v1/live?site=A')).body.message).toMatch(/^querystring\/site must be an id/)
  })

  test('history maps InfluxDB series into station and connector points', async () => {
    publishStation('beibei', 'zn-super', 450_000)
    influx.answer = (statement) => {
      if (statement.includes('FROM "station"')) {
        return {
          statement_id: 0,
          series: [{ name: 'station', columns: ['time', 'grid_power_w'], values: [[T0, 452_000]] }],
        }
      }
      return {
        statement_id: 0,
        series: ['1', '2'].map((connector) => ({
          name: 'connector',
          tags: { connector },
          columns: ['time', 'power_w'],
          values: [[T0, connector === '1' ? 450_000 : null]],
        })),
      }
    }
    const { status, body } = await get(
      '/api/v1/stations/zn-super/history?from=2025-03-25T02:00Z&every=1m&fields=grid_power_w,power_w',
    )
    expect(status).toBe(200)
    expect(body).toEqual({
      site: 'beibei',
      station: 'zn-super',
      from: Date.parse('2025-03-25T02:00Z'),
      to: now,
      every: '1m',
      tz: 'Asia/Shanghai',
      resolution: 'raw',
      series: {
        station: [{ t: T0, grid_power_w: 452_000 }],
        connectors: { '1': [{ t: T0, power_w: 450_000 }], '2': [{ t: T0, power_w: null }] },
      },
    })
    expect(influx.queries).toHaveLength(1)
    expect(influx.queries[0]).toContain(`"site" = 'beibei' AND "station" = 'zn-super'`)
  })

  test('history of a station known only to InfluxDB resolves its site there', async () => {
    influx.answer = (statement) =>
      statement.startsWith('SHOW TAG VALUES')
        ? {
            statement_id: 0,
            series: [{ name: 'station', columns: ['key', 'value'], values: [['site', 'old-site']] }],
          }
        : { statement_id: 0 }
    const { status, body } = await get('/api/v1/stations/retired/history')
    expect(status).toBe(200)
    expect(body).toMatchObject({
      site: 'old-site',
      station: 'retired',
      series: { station: [], connectors: {} },
    })
  })

  test('history of an unknown station is 404', async () => {
    const { status, body } = await get('/api/v1/stations/nowhere/history')
    expect(status).toBe(404)
    expect(body).toMatchObject({ code: 'EVMON_STATION_NOT_FOUND', message: 'station nowhere not found' })
    publishStation('beibei', 'zn-super', 1)
    expect((await get('/api/v1/stations/zn-super/history?site=elsewhere')).status).toBe(404)
  })

  test('a station id at two sites needs ?site=', async () => {
    publishStation('beibei', 'zn-super', 1)
    publishStation('other', 'zn-super', 1)
    const { status, body } = await get('/api/v1/stations/zn-super/history')
    expect(status).toBe(400)
    expect(body.message).toBe('station zn-super exists at sites beibei, other: choose one with ?site=')
    expect((await get('/api/v1/stations/zn-super/history?site=other')).status).toBe(200)
  })

  test('an InfluxDB failure is a masked 503', async () => {
    publishStation('beibei', 'zn-super', 1)
    influx.query = async () => {
      throw influxUnavailable('connect ECONNREFUSED 10.0.0.7:8086')
    }
    const { status, body, raw } = await get('/api/v1/stations/zn-super/history')
    expect(status).toBe(503)
    expect(body).toMatchObject({ code: 'EVMON_INFLUX_UNAVAILABLE', message: 'Service Unavailable' })
    expect(raw).not.toContain('10.0.0.7')
  })

  test('an unexpected error is a masked 500', async () => {
    publishStation('beibei', 'zn-super', 1)
    influx.query = async () => {
      throw new Error('secret internals')
    }
    const { status, body, raw } = await get('/api/v1/stations/zn-super/history')
    expect(status).toBe(500)
    expect(body).toMatchObject({ code: 'EVMON_INTERNAL', message: 'Internal Server Error' })
    expect(raw).not.toContain('secret')
  })

  test('health is 200 only while MQTT is connected and InfluxDB answers', async () => {
    expect(await get('/healthz')).toMatchObject({
      status: 200,
      body: { ok: true, mqtt: { connected: true }, influx: { reachable: true } },
    })
    feed.isConnected = false
    expect(await get('/healthz')).toMatchObject({
      status: 503,
      body: { ok: false, mqtt: { connected: false } },
    })
    feed.isConnected = true
    influx.reachable = false
    expect(await get('/healthz')).toMatchObject({
      status: 503,
      body: { ok: false, influx: { reachable: false } },
    })
  })

  test('metrics count requests by route pattern and report live gauges', async () => {
    publishStation('beibei', 'zn-super', 1)
    await get('/api/v1/stations/zn-super/history?every=bad')
    await get('/api/v1/stations/kc-ac/history?every=bad')
    const response = await app.inject({ method: 'GET', url: '/metrics' })
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/)
    expect(response.body).toContain(
      'evmon_api_http_requests_total{method="GET",route="/api/v1/stations/:id/history",status="400"} 2',
    )
    expect(response.body).toContain('evmon_api_mqtt_messages_total{kind="telemetry"} 1')
    expect(response.body).toContain('evmon_api_live_stations 1')
    expect(response.body).toContain('evmon_api_ws_clients 0')
    expect(response.body).toContain('evmon_api_mqtt_connected 1')
  })

  test('unknown API routes answer a JSON 404', async () => {
    expect(await get('/api/v1/nope')).toMatchObject({
      status: 404,
      body: { code: 'EVMON_NOT_FOUND', message: 'route GET /api/v1/nope not found' },
    })
  })

  test('a plain HTTP request to the live stream is told to upgrade', async () => {
    expect(await get('/api/v1/live/ws')).toMatchObject({
      status: 426,
      body: { code: 'EVMON_UPGRADE_REQUIRED' },
    })
  })

  test('without a built dashboard, dashboard paths answer 503 saying how to build it', async () => {
    for (const url of ['/', '/stations/zn-super']) {
      const response = await app.inject({ method: 'GET', url })
      expect(response.statusCode).toBe(503)
      expect(response.body).toContain('npm run build')
    }
  })
})
