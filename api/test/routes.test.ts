import { createHash } from 'node:crypto'
import { AvailabilityResponse, stationTopic, type Alert, type LiveView } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { FakeInflux, MemoryFeed } from './fakes.ts'
import { connectorSample, encode, stationMeta, telemetry } from './fixtures.ts'
import { buildApp } from '../src/app.ts'
import { LIVE_PERIOD_MS } from '../src/live/live-view.ts'
import { loadConfig } from '../src/config.ts'

const T0 = Date.parse('2025-07-15T04:30:00Z') // 12:30 in Chongqing, July: critical peak
const OPERATOR = 'operator-routes-token'
const ENGINEER = 'engineer-routes-token'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')

describe('api routes', () => {
  let feed: MemoryFeed
  let influx: FakeInflux
  let app: FastifyInstance
  let now: number

  const request = async (
    url: string,
    token: string | null = OPERATOR,
    extra: Record<string, string> = {},
    method: 'GET' | 'POST' = 'GET',
  ) => {
    const headers = { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...extra }
    const response = await app.inject({ method, url, headers })
    const body = String(response.headers['content-type']).startsWith('application/json')
      ? response.json()
      : response.body
    return { status: response.statusCode, body, headers: response.headers }
  }

  const publish = (
    station: string,
    kind: 'meta' | 'online' | 'telemetry' | 'status' | 'session',
    payload: unknown,
  ) => feed.publish(stationTopic('beibei', station, kind), encode(payload))

  const zn = stationMeta('Zhongnan', {
    connectors: [
      {
        id: 1,
        kind: 'dc',
        standard: 'GB/T',
        max_power_w: 480_000,
        max_current_a: 670,
        min_voltage_v: 200,
        max_voltage_v: 1000,
        liquid_cooled: true,
      },
      {
        id: 2,
        kind: 'dc',
        standard: 'GB/T',
        max_power_w: 160_000,
        max_current_a: 250,
        min_voltage_v: 200,
        max_voltage_v: 1000,
      },
    ],
  })

  beforeEach(async () => {
    feed = new MemoryFeed()
    influx = new FakeInflux()
    now = T0
    app = await buildApp(
      loadConfig({
        EVMON_LOG_LEVEL: 'silent',
        EVMON_DASHBOARD_DIR: '/nonexistent/evmon-dashboard',
        EVMON_API_TOKENS: `operator:${sha(OPERATOR)},engineer:${sha(ENGINEER)}`,
        EVMON_CORS_ORIGINS: 'https://ops.example',
      }),
      { feed, influx, clock: () => now },
    )
    await app.ready()
    publish('zn-super', 'meta', zn)
    publish('zn-super', 'online', { online: true, ts: T0 })
    publish('zn-super', 'session', {
      ts: T0 - 60_000,
      event: 'started',
      session: 's-1',
      connector: 1,
      vehicle: 'Zeekr 001 (2025)',
      soc_pct: 30,
    })
    publish(
      'zn-super',
      'telemetry',
      telemetry(T0, 1, [connectorSample(1, 400_000, { soc_pct: 40 }), connectorSample(2, 0)]),
    )
  })

  afterEach(async () => {
    await app.close()
  })

  describe('security', () => {
    test('driver availability is public; operator routes need a token; engineer routes an engineer token', async () => {
      expect((await request('/api/v1/availability?site=beibei', null)).status).toBe(200)
      expect(await request('/api/v1/live', null)).toMatchObject({
        status: 401,
        body: { message: 'a bearer token is required' },
      })
      expect(await request('/api/v1/live', 'guessed')).toMatchObject({
        status: 401,
        body: { message: 'the bearer token is not valid' },
      })
      expect((await request('/api/v1/live', OPERATOR, {}, 'GET')).status).toBe(200)
      expect((await request('/api/v1/live', ENGINEER)).status).toBe(200)
      const from = T0 - 60_000
      expect(await request(`/api/v1/export?station=zn-super&from=${from}&to=${T0}`, OPERATOR)).toMatchObject({
        status: 403,
      })
      expect((await request('/api/v1/alerts/ws', 'Basic abc')).status).toBe(401)
    })

    test('CORS answers configured origins only, and security headers are set', async () => {
      const allowed = await request('/api/v1/availability?site=beibei', null, {
        origin: 'https://ops.example',
      })
      expect(allowed.headers['access-control-allow-origin']).toBe('https://ops.example')
      const other = await request('/api/v1/availability?site=beibei', null, {
        origin: 'https://evil.example',
      })
      expect(other.headers['access-control-allow-origin']).toBeUndefined()
      expect(other.headers.vary).toBe('Origin')
      expect(allowed.headers['x-content-type-options']).toBe('nosniff')
      expect(allowed.headers['x-frame-options']).toBe('DENY')
      expect(allowed.headers['strict-transport-security']).toMatch(/^max-age=/)
      expect(allowed.headers['cross-origin-resource-policy']).toBe('same-origin')
      // Headers that only mean something for HTML documents are on pages, not on JSON answers.
      const htmlOnly = ['x-dns-prefetch-control', 'x-download-options', 'x-permitted-cross-domain-policies']
      const documentOnly = [
        'origin-agent-cluster',
        'x-xss-protection',
        'cross-origin-opener-policy',
        'referrer-policy',
      ]
      for (const name of [...htmlOnly, ...documentOnly]) expect(allowed.headers[name]).toBeUndefined()
      // OWASP's REST list: operator data is never cached; drivers' availability may be, briefly.
      expect((await request('/api/v1/live')).headers['cache-control']).toBe('no-store')
      expect((await request('/api/nothing-here', null)).headers['cache-control']).toBe('no-store')
      expect(allowed.headers['cache-control']).toBe('public, max-age=5')
      // JSON answers (errors included) load nothing: OWASP's policy for APIs; pages keep the dashboard's.
      const api = "default-src 'none';frame-ancestors 'none'"
      expect(allowed.headers['content-security-policy']).toBe(api)
      expect((await request('/api/v1/live', null)).headers['content-security-policy']).toBe(api)
      expect((await request('/api/nothing-here', null)).headers['content-security-policy']).toBe(api)
      const page = await request('/sessions', null)
      expect(String(page.headers['content-security-policy'])).toContain("default-src 'self'")
      expect(String(page.headers['content-security-policy'])).toContain("connect-src 'self' ws: wss:")
      expect(page.headers['x-content-type-options']).toBe('nosniff')
      expect(page.headers['x-frame-options']).toBe('SAMEORIGIN')
      for (const name of [...htmlOnly, ...documentOnly]) expect(page.headers[name]).toBeDefined()
      expect(page.headers['cache-control']).not.toBe('no-store')
    })

    test('the OpenAPI document lists every route with a bearer scheme', async () => {
      const { status, body } = await request('/docs/json', null)
      expect(status).toBe(200)
      const paths = Object.keys((body as { paths: object }).paths)
      for (const p of [
        '/api/v1/availability',
        '/api/v1/live',
        '/api/v1/sites/{id}/load',
        '/api/v1/metrics/utilisation',
        '/api/v1/metrics/efficiency',
        '/api/v1/sessions',
        '/api/v1/sessions/{id}',
        '/api/v1/alerts',
        '/api/v1/alerts/{id}/ack',
        '/api/v1/export',
        '/api/v1/stations/{id}/telemetry',
      ]) {
        expect(paths).toContain(p)
      }
    })
  })

  test('availability gives each connector its status, typical car power, time to free and the price', async () => {
    const { status, body, headers } = await request('/api/v1/availability?site=beibei', null)
    expect(status).toBe(200)
    expect(headers['cache-control']).toBe('public, max-age=5')
    expect(Value.Errors(AvailabilityResponse, body).First()).toBeUndefined()
    const answer = body as AvailabilityResponse
    expect(answer.price).toMatchObject({ period: 'critical_peak', service_per_kwh: 0.6, currency: 'CNY' })
    expect(answer.price?.energy_per_kwh).toBeCloseTo(0.8696 * 1.2, 4)
    // Critical peak is the dearest price: a cheaper one starts once it ends, within a day.
    expect(answer.next_cheaper?.price_per_kwh).toBeLessThan(answer.price?.total_per_kwh ?? 0)
    expect(answer.next_cheaper?.from).toBeGreaterThanOrEqual(answer.price?.until ?? Infinity)
    expect(answer.next_cheaper?.from).toBeLessThanOrEqual(T0 + 86_400_000)
    const [busy, free] = answer.connectors
    expect(busy).toMatchObject({ station: 'zn-super', connector: 1, status: 'Charging', free: false })
    // A Zeekr at 40% to an assumed 80% on a 480 kW gun: about 7 minutes at ≈300 kW.
    expect(busy?.free_in_min).toBeGreaterThan(4)
    expect(busy?.free_in_min).toBeLessThan(12)
    expect(free).toMatchObject({ connector: 2, status: 'Available', free: true, free_in_min: null })
    // The cabinet has 480 kW and gives 400 kW to connector 1: only 80 kW are left for connector 2.
    expect(free?.typical_800v_w).toBeLessThanOrEqual(80_000)
    expect(free?.typical_400v_w).toBeGreaterThan(0)
    expect((await request('/api/v1/availability?site=nowhere', null)).status).toBe(404)
  })

  test('the live view carries the coolant temperature of a liquid-cooled gun', async () => {
    publish(
      'zn-super',
      'telemetry',
      telemetry(T0 + 1, 2, [
        connectorSample(1, 400_000, { soc_pct: 41, temp_c: 64.5, coolant_c: 39.2 }),
        connectorSample(2, 0),
      ]),
    )
    const { status, body } = await request('/api/v1/live?station=zn-super')
    expect(status).toBe(200)
    const [gun, air] = (body as LiveView).stations[0]?.connectors ?? []
    expect(gun).toMatchObject({ id: 1, liquid_cooled: true, temp_c: 64.5, coolant_c: 39.2 })
    expect(air).toMatchObject({ id: 2, coolant_c: null })
  })

  test('cached live and availability answers change within one live-view period of the live state', async () => {
    const connector2 = async () => ({
      live: ((await request('/api/v1/live?site=beibei')).body as LiveView).stations[0]?.connectors[1]?.status,
      availability: ((await request('/api/v1/availability?site=beibei', null)).body as AvailabilityResponse)
        .connectors[1]?.status,
    })
    expect(await connector2()).toEqual({ live: 'Available', availability: 'Available' })
    publish('zn-super', 'status', {
      ts: T0 + 1,
      connector: 2,
      status: 'Faulted',
      error_code: 'GroundFailure',
    })
    // Answers are shared for the rest of their period, then rebuilt from the state.
    now += LIVE_PERIOD_MS - 1
    expect(await connector2()).toEqual({ live: 'Available', availability: 'Available' })
    now += 1
    expect(await connector2()).toEqual({ live: 'Faulted', availability: 'Faulted' })
  })

  test('a session event alone changes the cached availability estimate', async () => {
    publish('zn-super', 'session', { ts: T0 - 1, event: 'stopped', session: 's-1', connector: 1 })
    const before = (await request('/api/v1/availability?site=beibei', null)).body as AvailabilityResponse
    expect(before.connectors[0]?.free_in_min).toBeNull()
    publish('zn-super', 'session', {
      ts: T0,
      event: 'started',
      session: 's-2',
      connector: 1,
      vehicle: 'Zeekr 001 (2025)',
      soc_pct: 30,
    })
    now += LIVE_PERIOD_MS
    const after = (await request('/api/v1/availability?site=beibei', null)).body as AvailabilityResponse
    expect(after.connectors[0]?.free_in_min).toBeGreaterThan(0)
  })

  test('live site totals count connectors by status and the headroom to the grid limit', async () => {
    const { body } = await request('/api/v1/live?site=beibei&detail=sites')
    const view = body as LiveView
    expect(view.stations).toEqual([])
    // The station's 402 kW plus the lounge, which no station meters: 25 kW at 12:30 local (the site file).
    expect(view.sites[0]).toMatchObject({
      site: 'beibei',
      power_w: 402_000 + 25_000,
      aux_power_w: 25_000,
      stale_power_w: 0,
      grid_limit_w: 1_187_500,
      headroom_w: 1_187_500 - 427_000,
      connectors: { Charging: 1, Available: 1 },
    })
  })

  test('a faulted connector raises an alert with its error code; an operator acknowledges it', async () => {
    publish('zn-super', 'status', {
      ts: T0 + 1,
      connector: 2,
      status: 'Faulted',
      error_code: 'GroundFailure',
    })
    const { body } = await request('/api/v1/alerts?active=true')
    const [alert] = (body as { alerts: Alert[] }).alerts
    expect(alert).toMatchObject({
      type: 'connector_faulted',
      severity: 'critical',
      error_code: 'GroundFailure',
      ended_at: null,
    })
    expect((await request(`/api/v1/alerts/${alert?.id}/ack`, null, {}, 'POST')).status).toBe(401)
    expect(await request(`/api/v1/alerts/${alert?.id}/ack`, OPERATOR, {}, 'POST')).toMatchObject({
      status: 200,
      body: { acknowledged_at: T0, acknowledged_by: 'operator' },
    })
    publish('zn-super', 'status', { ts: T0 + 2, connector: 2, status: 'Available', error_code: 'NoError' })
    expect((await request('/api/v1/alerts?active=true')).body).toEqual({ alerts: [] })
    expect((await request('/api/v1/alerts/nope/ack', OPERATOR, {}, 'POST')).status).toBe(404)
  })

  describe('hostile input', () => {
    const HOSTILE = [
      `x' OR 1=1 --`,
      'x"; DROP DATABASE evmon',
      'a;b',
      '/.*/',
      'x\\',
      '%00',
      '..%2F..%2Fetc',
      "' OR ''='",
      'x) OR (1=1',
      'ROLLUP"."connector_1m',
    ]
    const range = `from=${T0 - 3_600_000}&to=${T0}`
    const routes: Array<[string, (v: string) => string]> = [
      ['availability site', (v) => `/api/v1/availability?site=${v}`],
      ['live site', (v) => `/api/v1/live?site=${v}`],
      ['live station', (v) => `/api/v1/live?station=${v}`],
      ['telemetry id', (v) => `/api/v1/stations/${v}/telemetry`],
      ['telemetry fields', (v) => `/api/v1/stations/zn-super/telemetry?fields=${v}`],
      ['telemetry tz', (v) => `/api/v1/stations/zn-super/telemetry?tz=${v}`],
      ['telemetry every', (v) => `/api/v1/stations/zn-super/telemetry?every=${v}`],
      ['telemetry from', (v) => `/api/v1/stations/zn-super/telemetry?from=${v}`],
      ['load id', (v) => `/api/v1/sites/${v}/load`],
      ['load resolution', (v) => `/api/v1/sites/beibei/load?resolution=${v}`],
      ['utilisation site', (v) => `/api/v1/metrics/utilisation?site=${v}&${range}`],
      ['utilisation connector', (v) => `/api/v1/metrics/utilisation?connector=${v}&${range}`],
      ['utilisation group', (v) => `/api/v1/metrics/utilisation?group=${v}&${range}`],
      ['utilisation exclude', (v) => `/api/v1/metrics/utilisation?exclude=${v}/${T0}/maintenance&${range}`],
      ['efficiency station', (v) => `/api/v1/metrics/efficiency?station=${v}&${range}`],
      ['efficiency tz', (v) => `/api/v1/metrics/efficiency?tz=${v}&${range}`],
      ['sessions station', (v) => `/api/v1/sessions?station=${v}`],
      ['sessions limit', (v) => `/api/v1/sessions?limit=${v}`],
      ['session id', (v) => `/api/v1/sessions/${v}`],
      ['alerts site', (v) => `/api/v1/alerts?site=${v}`],
      ['export station', (v) => `/api/v1/export?station=${v}&${range}`],
      ['export format', (v) => `/api/v1/export?station=zn-super&format=${v}&${range}`],
      ['replay speed', (v) => `/api/v1/replay/ws?station=zn-super&speed=${v}&${range}`],
    ]

    test.each(routes)(
      '%s: every injection attempt is a 4xx and never reaches InfluxDB',
      async (_name, url) => {
        for (const hostile of HOSTILE) {
          const { status, body } = await request(url(encodeURIComponent(hostile)), ENGINEER)
          expect(status, `${hostile} → ${status}`).toBeGreaterThanOrEqual(400)
          expect(status).toBeLessThan(500)
          expect((body as { message?: string }).message).toBeTruthy()
        }
        for (const q of influx.queries) expect(q).not.toMatch(/DROP|OR 1=1|\/\.\*\//)
      },
    )

    test('reversed, empty, huge and out-of-range time ranges are refused with a reason', async () => {
      const cases: Array<[string, RegExp]> = [
        [`/api/v1/metrics/utilisation?from=${T0}&to=${T0 - 1}`, /must be before/],
        [`/api/v1/sites/beibei/load?from=2000-01-01&to=2025-01-01`, /longer than the 731 allowed/],
        [`/api/v1/sites/beibei/load?from=${T0 - 86_400_000}&to=${T0}&every=1s`, /at most 5000/],
        [
          `/api/v1/sites/beibei/load?from=${T0 - 86_400_000}&to=${T0}&resolution=rollup&every=30s`,
          /finer than/,
        ],
        [
          `/api/v1/stations/zn-super/telemetry?from=2025-01-01&to=2025-01-02&resolution=raw`,
          /raw points are kept for 30 days/,
        ],
        [`/api/v1/metrics/efficiency?tz=Mars/Olympus`, /not a known IANA time zone/],
        [`/api/v1/metrics/utilisation?exclude=${T0}/${T0 - 1}/maintenance`, /ends before it starts/],
        [`/api/v1/metrics/utilisation?exclude=${T0 - 1}/${T0}/holiday`, /reason must be one of/],
        [`/api/v1/metrics/utilisation?exclude=yesterday/${T0}/maintenance`, /needs from\/to times/],
        [`/api/v1/export?station=zn-super&from=2025-02-30&to=${T0}`, /not a valid date/],
      ]
      for (const [url, message] of cases) {
        const { status, body } = await request(url, ENGINEER)
        expect(status, url).toBe(400)
        expect((body as { message: string }).message).toMatch(message)
      }
    })

    test('unknown ids are 404 and a site filter never widens to another site', async () => {
      expect((await request('/api/v1/sessions/no-such-session')).status).toBe(404)
      expect((await request('/api/v1/stations/zn-super/telemetry?site=other')).status).toBe(404)
      await request(`/api/v1/metrics/utilisation?site=beibei&from=${T0 - 3_600_000}&to=${T0}`)
      for (const q of influx.queries.slice(-1)[0]?.split('; ') ?? []) expect(q).toContain(`"site" = 'beibei'`)
    })

    test('CORS preflights are answered before the token check, for configured origins only', async () => {
      const preflight = (origin: string, method?: string) =>
        app.inject({
          method: 'OPTIONS',
          url: '/api/v1/live',
          headers: { origin, ...(method !== undefined && { 'access-control-request-method': method }) },
        })
      const allowed = await preflight('https://ops.example', 'GET')
      expect(allowed.statusCode).toBe(204)
      expect(allowed.headers).toMatchObject({
        'access-control-allow-origin': 'https://ops.example',
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
        'x-content-type-options': 'nosniff',
      })
      const other = await preflight('https://evil.example', 'GET')
      expect(other.headers['access-control-allow-origin']).toBeUndefined()
      const invalid = await preflight('https://ops.example')
      expect([invalid.statusCode, invalid.body]).toEqual([400, 'Invalid Preflight Request'])
    })

    test('a public client is rate limited with a 429 it can read', async () => {
      let last = 0
      for (let i = 0; i < 130 && last !== 429; i++)
        last = (await request('/api/v1/availability?site=beibei', null)).status
      expect(last).toBe(429)
      const { body, headers } = await request('/api/v1/availability?site=beibei', null)
      expect(body).toMatchObject({
        code: 'EVMON_RATE_LIMITED',
        message: expect.stringMatching(/^rate limit of 120 requests per minute exceeded, retry in \d+ s$/),
      })
      expect(headers).toMatchObject({ 'x-ratelimit-limit': '120', 'x-ratelimit-remaining': '0' })
      expect(Number(headers['retry-after'])).toBeGreaterThan(0)
      expect(headers['x-content-type-options']).toBe('nosniff')
      // A valid token has its own budget, and every answer says what is left of it.
      const live = await request('/api/v1/live', OPERATOR)
      expect(live.status).toBe(200)
      expect(live.headers).toMatchObject({ 'x-ratelimit-limit': '1200', 'x-ratelimit-remaining': '1199' })
      expect(Number(live.headers['x-ratelimit-reset'])).toBeGreaterThan(0)
    })
  })
})
