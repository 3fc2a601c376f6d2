import { createHash, randomBytes } from 'node:crypto'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic } from '@evmon/contracts'
import fc from 'fast-check'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import { connectorSample, encode, stationMeta, telemetry } from './fixtures.ts'
import { simulatedDay, writeDay } from './simulated-day.ts'

// Property-based fuzz driven by the API's own OpenAPI document: every route, every parameter it
// declares, valid and hostile values of every type, sent with a valid engineer token (which may call
// every route). Whatever arrives, the API answers: never a 5xx, never later than a bound, and an
// answer narrowed to one site names no other site's stations. Tokens are not site-scoped, so "another
// site's data" means data of a site other than the one the request asked for.

const influxUrl = inject('influxUrl')
const database = `api_fuzz_${randomBytes(4).toString('hex')}`
const TOKEN = 'fuzz-engineer'
const SITE = 'beibei'
/** A second site whose data must never leak into an answer about the first. */
const RIVAL = 'rival'
const rivalStation = (station: string) => `rival-${station}`
const DATA_MS = 15 * 60_000
const DATA_START = Date.now() - 2 * 3_600_000
/** Runs per route on a quiet machine. */
const RUNS_PER_ROUTE = 60
/**
 * Wall-clock budget of all routes together, so the file stays under a minute with its setup even on
 * a busy 2-core machine; a route that runs out of its share stops early, but not below the minimum.
 */
const FUZZ_BUDGET_MS = 38_000
const MIN_RUNS_PER_ROUTE = 10
const ANSWER_TIMEOUT_MS = 10_000

let broker: BrokerHandle
let api: ApiHandle
let publisher: mqtt.MqttClient
const beibeiStations = new Set<string>()

interface Parameter {
  in: 'query' | 'path'
  name: string
  required?: boolean
  schema: {
    type?: string
    pattern?: string
    minimum?: number
    maximum?: number
    anyOf?: { enum?: unknown[]; type?: string }[]
    enum?: unknown[]
  }
}
interface Operation {
  parameters?: Parameter[]
}

async function influx(q: string): Promise<void> {
  const response = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q }) })
  if (!response.ok) throw new Error(`InfluxDB: ${response.status} ${await response.text()}`)
}

/** A simulated Beibei quarter hour, and the same messages again as the rival site's. */
async function seedInflux(): Promise<void> {
  await influx(`CREATE DATABASE "${database}"`)
  await influx(`CREATE RETENTION POLICY "rollup" ON "${database}" DURATION 104w REPLICATION 1`)
  const lines = simulatedDay(DATA_START, 7, DATA_MS / 1000)
  const rival = lines.map((line) => {
    const message = JSON.parse(line) as { topic: string }
    const [prefix, version, , station, kind] = message.topic.split('/') as string[]
    beibeiStations.add(station as string)
    message.topic = [prefix, version, RIVAL, rivalStation(station as string), kind].join('/')
    return JSON.stringify(message)
  })
  await writeDay(influxUrl, database, [...lines, ...rival])
}

/** Both sites' stations live over MQTT too, so the live routes have something to filter. */
async function seedLive(): Promise<void> {
  for (const [site, station] of [
    [SITE, 'zn-super'],
    [RIVAL, rivalStation('zn-super')],
  ] as const) {
    const publish = (kind: 'meta' | 'online' | 'telemetry', payload: unknown) =>
      publisher.publishAsync(stationTopic(site, station, kind), encode(payload), {
        qos: 1,
        retain: kind !== 'telemetry',
      })
    await publish('meta', stationMeta(`${station} name`))
    await publish('online', { online: true, ts: Date.now() })
    await publish('telemetry', telemetry(Date.now(), 1, [connectorSample(1, 100_000), connectorSample(2, 0)]))
  }
}

beforeAll(async () => {
  await seedInflux()
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  api = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `engineer:${createHash('sha256').update(TOKEN).digest('hex')}`,
      // The fuzz sends thousands of requests a minute; a 429 would hide what the route does.
      EVMON_RATE_LIMIT_TOKEN: '10000000',
      EVMON_RATE_LIMIT_PUBLIC: '10000000',
    }),
  )
  publisher = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: `fuzz-publisher-${randomBytes(3).toString('hex')}`,
  })
  await seedLive()
  await vi.waitFor(
    async () => {
      const body = await (await get(`/api/v1/live?site=${RIVAL}`)).text()
      expect(body).toContain(rivalStation('zn-super'))
    },
    { timeout: 10_000 },
  )
}, 120_000)

afterAll(async () => {
  await publisher?.endAsync()
  await api?.close()
  await broker?.close()
  await influx(`DROP DATABASE "${database}"`).catch(() => {})
})

function get(path: string, method = 'GET'): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  })
}

/** Values no parameter of any type should choke on. */
const HOSTILE_CONSTANTS = [
  '',
  ' ',
  'Infinity',
  '-Infinity',
  '+Infinity',
  '1e309',
  '-1e309',
  '1e308',
  'NaN',
  'null',
  'undefined',
  'true',
  'false',
  '[]',
  '{}',
  '0',
  '-0',
  '-1',
  '1.5',
  '0x1F',
  '0b11',
  '1e3',
  '9007199254740993',
  '99999999999999999999999',
  '999999999999999',
  '%00',
  '\u0000',
  "'",
  '"',
  '\\',
  '\\"',
  "x' OR 1=1 --",
  '"; DROP DATABASE evmon; --',
  'a,b;DROP MEASUREMENT telemetry',
  '../../etc/passwd',
  'é',
  '😀',
  '\u202e',
  '1970-01-01',
  '0000-01-01',
  '9999-12-31',
  '2026-02-30',
  '2026-13-01T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:00+99:99',
  '0s',
  '1s',
  '999999d',
  '-5m',
  'Etc/GMT+99',
  'Asia/Nowhere',
  'x'.repeat(5_000),
]

const hostile: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_CONSTANTS) },
  // Numbers JavaScript reads as non-finite: the values that once got a 500.
  {
    weight: 2,
    arbitrary: fc.constantFrom('Infinity', '-Infinity', '1e309', '-1e309', '1' + '0'.repeat(400)),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
  { weight: 1, arbitrary: fc.double().map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map(String) },
  { weight: 1, arbitrary: fc.integer().map(String) },
)

/** Values the schema accepts, biased towards ones that reach data (known sites, stations, times). */
function valid(parameter: Parameter): fc.Arbitrary<string> {
  const { schema, name } = parameter
  const known: string[] = []
  if (name === 'site') known.push(SITE, RIVAL)
  if (name === 'station' || name === 'id') known.push(...beibeiStations, rivalStation('zn-super'))
  if (name === 'from' || name === 'to')
    known.push(String(DATA_START), String(DATA_START + DATA_MS), String(Date.now()))
  const literals = schema.enum ?? schema.anyOf?.flatMap((a) => a.enum ?? [])
  let generated: fc.Arbitrary<string>
  if (literals !== undefined && literals.length > 0) generated = fc.constantFrom(...literals.map(String))
  else if (schema.type === 'integer')
    generated = fc.integer({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9 }).map(String)
  else if (schema.type === 'number')
    generated = fc
      .double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true })
      .map(String)
  else if (schema.type === 'boolean') generated = fc.constantFrom('true', 'false')
  else if (schema.pattern !== undefined) generated = fc.stringMatching(new RegExp(schema.pattern))
  else generated = fc.string({ maxLength: 32 })
  return known.length === 0
    ? generated
    : fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: generated })
}

/** One parameter's values: absent (unless required), one value, or repeated (`?a=1&a=2`). */
function values(parameter: Parameter, one: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  const single = one.map((v) => [v])
  const repeated = fc.array(one, { minLength: 2, maxLength: 3 })
  return parameter.required === true || parameter.in === 'path'
    ? fc.oneof({ weight: 4, arbitrary: single }, { weight: 1, arbitrary: repeated })
    : fc.oneof(
        { weight: 1, arbitrary: fc.constant<string[]>([]) },
        { weight: 4, arbitrary: single },
        { weight: 1, arbitrary: repeated },
      )
}

/**
 * A request's parameters. Mostly one parameter hostile and the others valid (or absent), so the
 * hostile value gets past the other checks to the code behind them; sometimes every parameter drawn
 * from valid and hostile values alike.
 */
function requests(parameters: Parameter[]): fc.Arbitrary<Map<Parameter, string[]>> {
  const draw = (hostileAt: (i: number) => boolean | undefined) =>
    fc.tuple(
      ...parameters.map((p, i) => {
        const which = hostileAt(i)
        const one = which === undefined ? fc.oneof(valid(p), hostile) : which ? hostile : valid(p)
        return values(p, one)
      }),
    )
  const toMap = (vs: string[][]) => new Map(parameters.map((p, i) => [p, vs[i] as string[]]))
  if (parameters.length === 0) return fc.constant(new Map())
  return fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc
          .integer({ min: 0, max: parameters.length - 1 })
          .chain((target) => draw((i) => i === target)),
      },
      { weight: 1, arbitrary: draw(() => undefined) },
    )
    .map(toMap)
}

/** Every `site` and `station` value anywhere in a JSON answer. */
function mentions(body: unknown, out: { sites: Set<string>; stations: Set<string> }): void {
  if (Array.isArray(body)) for (const item of body) mentions(item, out)
  else if (body !== null && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      if (key === 'site' && typeof value === 'string') out.sites.add(value)
      if ((key === 'station' || key === 'station_id') && typeof value === 'string') out.stations.add(value)
      mentions(value, out)
    }
  }
}

/** Fails when an answer to a request for `site` carries anything of the other site. */
function expectOnlySite(site: string, text: string, contentType: string): void {
  const other = site === SITE ? RIVAL : SITE
  const otherStation = (s: string) => (site === SITE ? s.startsWith('rival-') : !s.startsWith('rival-'))
  if (contentType.includes('json') && !contentType.includes('ndjson')) {
    const seen = { sites: new Set<string>(), stations: new Set<string>() }
    mentions(JSON.parse(text), seen)
    expect([...seen.sites].filter((s) => s !== site)).toEqual([])
    expect([...seen.stations].filter(otherStation)).toEqual([])
  } else {
    // NDJSON and CSV exports carry the topic of each message.
    expect(text).not.toContain(`/${other}/`)
  }
}

test('both sites have data, live and stored, so a leak between them would show', async () => {
  const live = await (await get('/api/v1/live')).text()
  expect(live).toContain('"rival-zn-super"')
  expect(live).toContain('"zn-super"')
  const range = `from=${DATA_START}&to=${DATA_START + DATA_MS}`
  for (const [site, station] of [
    [SITE, 'zn-super'],
    [RIVAL, rivalStation('zn-super')],
  ]) {
    const exported = await (await get(`/api/v1/export?site=${site}&station=${station}&${range}`)).text()
    expect(exported).toContain(`/${site}/${station}/telemetry`)
  }
})

test.each([
  ['/api/v1/metrics/utilisation', 'connector'],
  ['/api/v1/metrics/efficiency', 'connector'],
  ['/api/v1/sessions', 'connector'],
  ['/api/v1/sessions', 'limit'],
  ['/api/v1/sessions', 'offset'],
  ['/api/v1/alerts', 'limit'],
])('%s?%s=<non-finite> is a 400 naming the parameter', async (path, name) => {
  for (const value of ['Infinity', '-Infinity', '1e309', '-1e309']) {
    const response = await get(`${path}?site=${SITE}&${name}=${value}`)
    expect(response.status).toBe(400)
    expect(((await response.json()) as { message: string }).message).toContain(`querystring/${name}`)
  }
})

describe('the API answers hostile parameters with 4xx, never 5xx', async () => {
  // The document is the app's own: read it from a throwaway instance of the same build.
  const { buildApp } = await import('../src/app.ts')
  const probe = await buildApp(
    loadConfig({
      EVMON_INFLUX_URL: 'http://127.0.0.1:1',
      EVMON_MQTT_URL: 'mqtt://127.0.0.1:1',
      EVMON_LOG_LEVEL: 'silent',
    }),
  )
  await probe.ready()
  const document = probe.swagger() as { paths: Record<string, Record<string, Operation>> }
  await probe.close()
  const operations = Object.entries(document.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  )

  test('the document lists the routes the fuzz must cover', () => {
    const paths = operations.map((o) => `${o.method} ${o.path}`)
    for (const route of [
      'GET /api/v1/metrics/utilisation',
      'GET /api/v1/metrics/efficiency',
      'GET /api/v1/sessions',
      'GET /api/v1/export',
      'POST /api/v1/alerts/{id}/ack',
    ])
      expect(paths).toContain(route)
  })

  test.each(operations)('$method $path', async ({ path, method, op }) => {
    const parameters = op.parameters ?? []
    const request = requests(parameters)
    let answered = 0
    await fc.assert(
      fc.asyncProperty(request, async (chosen) => {
        let url = path
        const query = new URLSearchParams()
        for (const [p, vs] of chosen) {
          if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(vs.join(',')))
          else for (const v of vs) query.append(p.name, v)
        }
        const full = query.size === 0 ? url : `${url}?${query.toString()}`
        const response = await get(full, method)
        const text = await response.text()
        answered++
        expect(response.status, `${method} ${full} → ${text.slice(0, 300)}`).toBeLessThan(500)
        if (response.status >= 400) {
          // Every refusal has the one error shape and says what was wrong.
          const body = JSON.parse(text) as { statusCode: number; message: string }
          expect(body.statusCode).toBe(response.status)
          expect(body.message.length).toBeGreaterThan(0)
        }
        const sites = query.getAll('site')
        if (response.status < 300 && sites.length === 1 && [SITE, RIVAL].includes(sites[0] as string))
          expectOnlySite(sites[0] as string, text, response.headers.get('content-type') ?? '')
      }),
      {
        numRuns: RUNS_PER_ROUTE,
        interruptAfterTimeLimit: FUZZ_BUDGET_MS / operations.length,
        markInterruptAsFailure: false,
      },
    )
    expect(answered).toBeGreaterThanOrEqual(MIN_RUNS_PER_ROUTE)
  })
})
