// The whole stack under a city's load: broker, ingest, InfluxDB, Redis, API and the simulator in scale
// mode, each its own process with authentication on (bench/lib-stack.ts), at a given number of
// connectors sending telemetry at 1 Hz, while dashboard WebSocket clients follow the live stream and
// HTTP clients poll `/live`, `/availability` and a 24-hour history query. For each connector count:
// messages/s accepted, points stored (counted with InfluxDB's count() against the messages and samples
// the simulator generated), sample → queryable p50/p99, WebSocket update p99 sample → client, HTTP p99 per
// route, CPU per process. Searches for the largest count that loses nothing and meets every p99 goal,
// within --max-minutes, and ends with
// `RESULT max_connectors=<n> live_p99_ms=<x> ws_p99_ms=<y> stored_ratio=<r>`.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { loadSiteConfig, scaleSite } from '@evmon/simulator'
import { gatedChild } from './lib-child.ts'
import type { LoadResult, LoadSpec } from './lib-load.ts'
import { cpuMeter, metric, percentile } from './lib-measure.ts'
import { BROKERS, startBenchStack, type BenchStack, type BrokerKind } from './lib-stack.ts'
import type { WsResult, WsSpec } from './lib-ws-clients.ts'

const repoRoot = new URL('..', import.meta.url).pathname
const DAY_MS = 86_400_000

/** Every goal is a p99 in ms, except that nothing may be lost. */
const GOALS = {
  queryable_p99_ms: 2_000, // sample time → the point answers an InfluxDB query
  ws_p99_ms: 1_000, // sample time → a dashboard WebSocket client has the update
  // HTTP p99 per route. The live routes and the WebSocket stream serve the same view, so they share its
  // 1 s bar; a 24-hour chart gets the queryable bar. (The API benchmark's 100 ms goals are for the API
  // alone on the machine; here it shares 2 cores with the broker, ingest, InfluxDB and the simulator.)
  http_p99_ms: { live_station: 1_000, live_sites: 1_000, availability: 1_000, history_24h: 2_000 },
} as const

type Route = keyof typeof GOALS.http_p99_ms

/** Stations whose points the sample → queryable probe polls for (the first clones of each Beibei station). */
const PROBE_STATIONS = 8
const PROBE_POLL_MS = 50
/** How long after the window the probe still looks for the window's samples. */
const PROBE_GRACE_MS = 5_000
/** Each HTTP load helper warms its route up at its own rate before the gate (first answers are cold). */
const HELPERS_WARMUP_S = 5
/** Between the load helpers' start-up (a CPU burst on a machine the stack uses whole) and the window. */
const HELPERS_SETTLE_MS = 3_000

interface Options {
  broker: BrokerKind
  windowS: number
  wsClients: number
  httpRate: number
  historyRate: number
  warmupLimitS: number
  log: (line: string) => void
}

interface StepResult {
  connectors: number
  stations: number
  ok: boolean
  failed: string[]
  settled_s: number | null
  /** Subtracted from the latencies below: see simulatorLagMs. */
  sim_lag_ms: number
  msgs_per_s_accepted: number
  points_per_s_written: number
  /** Station and connector points: one `station` point per telemetry message, one `connector` per connector in it. */
  expected_points: number
  stored_points: number
  stored_ratio: number
  queryable_p50_ms: number
  queryable_p99_ms: number
  queryable_max_ms: number
  queryable_samples: number
  /** The same as measured against the simulator's `ts`, before subtracting its lag. */
  queryable_p99_raw_ms: number
  ws_p50_ms: number
  ws_p99_ms: number
  ws_max_ms: number
  /** Wall time of the slowest WebSocket update, ISO 8601 (continuous queries run on the minute). */
  ws_max_at: string
  ws_p99_raw_ms: number
  ws_updates: number
  ws_lost: number
  http_p99_ms: Record<Route, number>
  http_rps: Record<Route, number>
  cpu_pct: Record<string, number>
  step_s: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function influxQuery(stack: BenchStack, q: string): Promise<unknown[][]> {
  const url = `${stack.influxUrl}/query?db=${stack.influxDb}&epoch=ms&q=${encodeURIComponent(q)}`
  const body = (await (await fetch(url, { method: 'POST' })).json()) as {
    results: Array<{ error?: string; series?: Array<{ values: unknown[][] }> }>
  }
  if (body.results[0]?.error) throw new Error(body.results[0].error)
  return body.results[0]?.series?.[0]?.values ?? []
}

/**
 * Waits until the simulator publishes every station once a second and the broker acknowledges as
 * much: over 5 s, steps at 1.00 ± 0.05 per second and acknowledgements ≥ 95 % of stations per second.
 */
async function settle(stack: BenchStack, stations: number, limitS: number): Promise<number | null> {
  const started = performance.now()
  const sim = `${stack.simUrl}/metrics`
  while ((performance.now() - started) / 1000 < limitS) {
    if (stack.crashed() !== null) return null
    const [steps0, acked0, t0] = [
      await metric(sim, 'evmon_sim_steps_total'),
      await metric(sim, 'evmon_sim_messages_acknowledged_total'),
      performance.now(),
    ]
    await sleep(5_000)
    const s = (performance.now() - t0) / 1000
    const stepRate = ((await metric(sim, 'evmon_sim_steps_total')) - steps0) / s
    const ackRate = ((await metric(sim, 'evmon_sim_messages_acknowledged_total')) - acked0) / s
    if (Math.abs(stepRate - 1) <= 0.05 && ackRate >= 0.95 * stations)
      return Math.round((performance.now() - started) / 1000)
  }
  return null
}

/**
 * How far the simulator's sample times trail the wall clock. It starts its simulated clock at the
 * last whole second before it starts, so every `ts` it stamps is up to a second (plus its start-up)
 * older than the moment the sample is generated and published; a station stamps the moment it
 * measures. Read as the least (wall time − simulated time) just after the step counter moves.
 */
async function simulatorLagMs(stack: BenchStack): Promise<number> {
  const sim = `${stack.simUrl}/metrics`
  let lag = Number.POSITIVE_INFINITY
  let steps = await metric(sim, 'evmon_sim_steps_total')
  const until = Date.now() + 3_000
  while (Date.now() < until) {
    const text = await (await fetch(sim)).text()
    const at = Date.now()
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
    const now = value('evmon_sim_steps_total')
    if (now !== steps) lag = Math.min(lag, at - value('evmon_sim_time_seconds') * 1000)
    steps = now
    await sleep(10)
  }
  return Math.round(lag)
}

/** Polls the probe stations' points; each sample's latency is when its point first answered the query. */
function probeQueryable(stack: BenchStack, probes: string[], from: number) {
  const seen = new Set<string>()
  const latencies: number[] = []
  let until = Number.POSITIVE_INFINITY
  const regex = `/^(${probes.map((p) => p.replace(/[^A-Za-z0-9-]/g, '')).join('|')})$/`
  const done = (async () => {
    while (Date.now() < until + PROBE_GRACE_MS) {
      const rows = await influxQuery(
        stack,
        `SELECT grid_power_w, station FROM station WHERE station =~ ${regex} AND time >= ${from}ms`,
      )
      const now = Date.now()
      for (const [ts, , station] of rows) {
        const key = `${String(station)}/${String(ts)}`
        if (Number(ts) > until || seen.has(key)) continue
        seen.add(key)
        latencies.push(now - Number(ts))
      }
      await sleep(PROBE_POLL_MS)
    }
  })()
  return {
    /** Stops counting samples taken after now; resolves once the late ones have had their grace. */
    async finish() {
      until = Date.now()
      await done
      return latencies
    },
  }
}

/**
 * Pauses the simulator, then waits until ingest has written what it received and counts the points:
 * every station sends one telemetry message per step with all its connectors (the bench's site has no
 * network outages, bench/lib-stack.ts), so the simulator's steps × stations and its connector samples
 * are what InfluxDB must hold.
 */
async function countStored(stack: BenchStack, log: (line: string) => void) {
  await fetch(`${stack.simUrl}/pause`, { method: 'POST' })
  const sim = `${stack.simUrl}/metrics`
  for (let i = 0; i < 300 && (await metric(sim, 'evmon_sim_publish_in_flight')) > 0; i++) await sleep(100)
  const steps = await metric(sim, 'evmon_sim_steps_total')
  const expected = {
    station: steps * (await metric(sim, 'evmon_sim_stations')),
    connector: await metric(sim, 'evmon_sim_connector_samples_total'),
  }
  const [published, acked] = [
    await metric(sim, 'evmon_sim_messages_total'),
    await metric(sim, 'evmon_sim_messages_acknowledged_total'),
  ]
  if (acked < published) log(`  simulator: ${acked} of ${published} messages acknowledged after the pause`)
  const counted = async () => ({
    station: Number((await influxQuery(stack, 'SELECT count(grid_power_w) FROM station'))[0]?.[1] ?? 0),
    connector: Number((await influxQuery(stack, 'SELECT count(power_w) FROM connector'))[0]?.[1] ?? 0),
  })
  let stored = await counted()
  let unchangedSince = Date.now()
  while (
    (stored.station < expected.station || stored.connector < expected.connector) &&
    Date.now() - unchangedSince < 15_000
  ) {
    await sleep(500)
    const next = await counted()
    if (next.station !== stored.station || next.connector !== stored.connector) unchangedSince = Date.now()
    stored = next
  }
  return { expected, stored }
}

async function step(connectors: number, options: Options, budgetS: number): Promise<StepResult> {
  const started = performance.now()
  const base = loadSiteConfig(join(repoRoot, 'config/sites/beibei.json'))
  const perCopy = base.stations.reduce((n, s) => n + s.connectors.length, 0)
  const stations = Math.ceil((connectors / perCopy) * base.stations.length)
  const scaled = scaleSite(base, stations)
  const actual = scaled.stations.reduce((n, s) => n + s.connectors.length, 0)
  const probes = scaled.stations.slice(0, PROBE_STATIONS).map((s) => s.id)
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-stack-'))
  const failed: string[] = []
  options.log(`${actual.toLocaleString('en')} connectors (${stations.toLocaleString('en')} stations) at 1 Hz`)
  const stack = await startBenchStack({ dir, stations, broker: options.broker, log: options.log }).catch(
    (err: unknown) => {
      rmSync(dir, { recursive: true, force: true })
      throw err
    },
  )
  try {
    const settledS = await settle(stack, stations, Math.min(options.warmupLimitS, budgetS))
    if (settledS === null) {
      failed.push(
        stack.crashed() ?? `not settled at 1 Hz within ${Math.min(options.warmupLimitS, budgetS)} s`,
      )
    }
    const lag = await simulatorLagMs(stack)
    options.log(
      `  settled after ${settledS ?? '—'} s; simulator sample times trail its clock by ${lag} ms; measuring for ${options.windowS} s`,
    )
    const auth = { authorization: `Bearer ${stack.token}` }
    const now = Date.now()
    const routes: Record<Route, { path: string; headers: Record<string, string>; rate: number }> = {
      live_station: { path: `/api/v1/live?station=${probes[0]}`, headers: auth, rate: options.httpRate },
      live_sites: { path: '/api/v1/live?detail=sites', headers: auth, rate: options.httpRate },
      availability: { path: '/api/v1/availability?site=beibei', headers: {}, rate: options.httpRate },
      history_24h: {
        path: `/api/v1/sites/beibei/load?from=${now - DAY_MS}&to=${now}`,
        headers: auth,
        rate: options.historyRate,
      },
    }
    // The load helpers start (each loads tsx and its modules: a burst of CPU), warm their routes up and
    // wait at a start gate; the window opens once they are all up and the stack has caught up.
    const loads = Object.entries(routes)
      // A rate of 0 leaves the route out (autocannon would take it as no limit at all).
      .filter(([, r]) => r.rate > 0)
      .map(([name, r]) => ({
        name: name as Route,
        child: gatedChild<LoadResult>('lib-load.ts', {
          options: {
            url: `${stack.apiUrl}${r.path}`,
            headers: r.headers,
            connections: 4,
            overallRate: r.rate,
            duration: options.windowS,
          },
          warmupS: HELPERS_WARMUP_S,
        } satisfies LoadSpec),
      }))
    const wsChild = gatedChild<WsResult>('lib-ws-clients.ts', {
      url: `${stack.apiUrl.replace('http', 'ws')}/api/v1/live/ws?station=${probes[0]}`,
      token: stack.token,
      clients: options.wsClients,
      durationS: options.windowS,
    } satisfies WsSpec)
    await Promise.all([...loads.map((l) => l.child.ready), wsChild.ready])
    await sleep(HELPERS_SETTLE_MS)
    // Accepted: acknowledged to the stations (the simulator counts PUBACKs), the same for either broker.
    const acked0 = await metric(`${stack.simUrl}/metrics`, 'evmon_sim_messages_acknowledged_total')
    const written0 = await metric(stack.ingestMetricsUrl, 'evmon_ingest_points_written_total')
    const cpu = cpuMeter(stack.pids)
    const t0 = performance.now()
    const probe = probeQueryable(stack, probes, Date.now())
    for (const { child } of [...loads, { child: wsChild }]) child.go()
    const [http, ws] = await Promise.all([
      Promise.all(
        loads.map(async ({ name, child }) => {
          const result = await child.result
          if (result.non2xx > 0 || result.errors > 0)
            failed.push(`${name}: ${result.non2xx} non-2xx answers, ${result.errors} errors`)
          return [name, result] as const
        }),
      ),
      wsChild.result,
    ])
    const windowS = (performance.now() - t0) / 1000
    const cpuPct = cpu()
    const accepted =
      ((await metric(`${stack.simUrl}/metrics`, 'evmon_sim_messages_acknowledged_total')) - acked0) / windowS
    const written =
      ((await metric(stack.ingestMetricsUrl, 'evmon_ingest_points_written_total')) - written0) / windowS
    const queryable = await probe.finish()
    const { expected, stored } = await countStored(stack, options.log)
    const crashed = stack.crashed()
    if (crashed !== null) failed.push(`${crashed} exited`)
    const expectedPoints = expected.station + expected.connector
    const storedPoints = stored.station + stored.connector
    const storedRatio = expectedPoints > 0 ? storedPoints / expectedPoints : 0
    for (const kind of ['station', 'connector'] as const)
      if (stored[kind] !== expected[kind])
        failed.push(`${stored[kind]} of ${expected[kind]} ${kind} points stored`)
    const result: StepResult = {
      connectors: actual,
      stations,
      ok: false,
      failed,
      settled_s: settledS,
      sim_lag_ms: lag,
      msgs_per_s_accepted: Math.round(accepted),
      points_per_s_written: Math.round(written),
      expected_points: expectedPoints,
      stored_points: storedPoints,
      stored_ratio: Math.round(storedRatio * 1e6) / 1e6,
      queryable_p50_ms: percentile(queryable, 50) - lag,
      queryable_p99_ms: percentile(queryable, 99) - lag,
      queryable_max_ms: percentile(queryable, 100) - lag,
      queryable_samples: queryable.length,
      queryable_p99_raw_ms: percentile(queryable, 99),
      ws_p50_ms: ws.p50_ms - lag,
      ws_p99_ms: ws.p99_ms - lag,
      ws_max_ms: ws.max_ms - lag,
      ws_max_at: Number.isFinite(ws.max_at) ? new Date(ws.max_at).toISOString() : '',
      ws_p99_raw_ms: ws.p99_ms,
      ws_updates: ws.updates,
      ws_lost: ws.lost,
      http_p99_ms: Object.fromEntries(http.map(([name, r]) => [name, r.latency.p99])) as Record<
        Route,
        number
      >,
      http_rps: Object.fromEntries(http.map(([name, r]) => [name, Math.round(r.requests.average)])) as Record<
        Route,
        number
      >,
      cpu_pct: cpuPct,
      step_s: 0,
    }
    if (!(result.queryable_p99_ms < GOALS.queryable_p99_ms))
      failed.push(`sample → queryable p99 ${result.queryable_p99_ms} ms`)
    if (!(result.ws_p99_ms < GOALS.ws_p99_ms)) failed.push(`WebSocket p99 ${result.ws_p99_ms} ms`)
    if (ws.lost > 0 || ws.connected < options.wsClients) failed.push(`WebSocket: ${ws.lost} clients lost`)
    for (const [name, p99] of Object.entries(result.http_p99_ms) as Array<[Route, number]>)
      if (!(p99 < GOALS.http_p99_ms[name])) failed.push(`${name} p99 ${p99} ms`)
    result.ok = failed.length === 0
    result.step_s = Math.round((performance.now() - started) / 1000)
    return result
  } finally {
    await stack.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function failedStep(connectors: number, err: Error, started: number): StepResult {
  const none = {
    live_station: Number.NaN,
    live_sites: Number.NaN,
    availability: Number.NaN,
    history_24h: Number.NaN,
  }
  return {
    connectors,
    stations: Number.NaN,
    ok: false,
    failed: [err.message.split('\n')[0] ?? String(err)],
    settled_s: null,
    sim_lag_ms: Number.NaN,
    msgs_per_s_accepted: Number.NaN,
    points_per_s_written: Number.NaN,
    expected_points: Number.NaN,
    stored_points: Number.NaN,
    stored_ratio: Number.NaN,
    queryable_p50_ms: Number.NaN,
    queryable_p99_ms: Number.NaN,
    queryable_max_ms: Number.NaN,
    queryable_samples: 0,
    queryable_p99_raw_ms: Number.NaN,
    ws_p50_ms: Number.NaN,
    ws_p99_ms: Number.NaN,
    ws_max_ms: Number.NaN,
    ws_max_at: '',
    ws_p99_raw_ms: Number.NaN,
    ws_updates: 0,
    ws_lost: 0,
    http_p99_ms: none,
    http_rps: none,
    cpu_pct: {},
    step_s: Math.round((performance.now() - started) / 1000),
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '—')

function report(r: StepResult): void {
  console.log(JSON.stringify(r))
  console.log(
    `  ${r.ok ? 'PASS' : 'FAIL'} ${fmt(r.connectors)} connectors: ${fmt(r.msgs_per_s_accepted)} msgs/s accepted by the broker, ` +
      `${fmt(r.points_per_s_written)} points/s written; ${fmt(r.stored_points)} of ${fmt(r.expected_points)} points stored (ratio ${r.stored_ratio}); ` +
      `sample → queryable p50 ${fmt(r.queryable_p50_ms)} ms, p99 ${fmt(r.queryable_p99_ms)} ms (${r.queryable_samples} probe samples); ` +
      `WebSocket p99 ${fmt(r.ws_p99_ms)} ms (both less the simulator's ${r.sim_lag_ms} ms lag); HTTP p99 ${Object.entries(
        r.http_p99_ms,
      )
        .map(([k, v]) => `${k} ${fmt(v)} ms (${fmt(r.http_rps[k as Route])} req/s)`)
        .join(', ')}; CPU % of one core ${Object.entries(r.cpu_pct)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}` +
      (r.ok ? '' : `; failed: ${r.failed.join('; ')}`),
  )
}

export default async function stackBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      // Measure exactly these counts (comma-separated) instead of searching.
      connectors: { type: 'string' },
      // The search: first count, and the resolution at which it stops bisecting.
      start: { type: 'string', default: '20000' },
      resolution: { type: 'string', default: '2500' },
      'max-minutes': { type: 'string', default: '20' },
      window: { type: 'string', default: '60' },
      'ws-clients': { type: 'string', default: '100' },
      // Requests per second on each of /live?station, /live?detail=sites and /availability; on the 24-h query.
      'http-rate': { type: 'string', default: '50' },
      'history-rate': { type: 'string', default: '2' },
      'warmup-limit': { type: 'string', default: '180' },
      // aedes (evmon's broker on Redis, as deployed) or mosquitto (the compose `scale` profile's broker).
      broker: { type: 'string', default: 'aedes' },
      // Print the services' warnings and errors.
      verbose: { type: 'boolean', default: false },
    },
  })
  const num = (name: keyof typeof values, min = Number.MIN_VALUE) => {
    const v = Number(values[name])
    if (!Number.isFinite(v) || v < min)
      throw new Error(`--${name}: a number ${min > 0 ? 'above 0' : `≥ ${min}`} expected`)
    return v
  }
  const broker = values.broker as BrokerKind
  if (!BROKERS.includes(broker)) throw new Error(`--broker: one of ${BROKERS.join(', ')} expected`)
  const options: Options = {
    broker,
    windowS: num('window'),
    wsClients: num('ws-clients'),
    // 0: that load is left out (to see what it costs).
    httpRate: num('http-rate', 0),
    historyRate: num('history-rate', 0),
    warmupLimitS: num('warmup-limit'),
    log: (line) => {
      if (values.verbose || !line.startsWith('[')) console.log(line)
    },
  }
  const budgetMs = num('max-minutes') * 60_000
  const resolution = num('resolution')
  const began = performance.now()
  const left = () => (budgetMs - (performance.now() - began)) / 1000
  console.log(
    `load average (1 min) at start: ${loadavg()[0]?.toFixed(1)}; broker: ${broker}; goals: nothing lost, sample → queryable p99 < ${GOALS.queryable_p99_ms} ms, ` +
      `WebSocket p99 < ${GOALS.ws_p99_ms} ms, HTTP p99 ${JSON.stringify(GOALS.http_p99_ms)} ms; budget ${values['max-minutes']} min`,
  )
  const results: StepResult[] = []
  let lastStepS = options.windowS + 120 // until one step has been timed
  const run = async (connectors: number) => {
    const t0 = performance.now()
    // A count at which the stack cannot start or a client cannot connect fails; the search goes on.
    const r = await step(connectors, options, left()).catch((err: Error) => failedStep(connectors, err, t0))
    report(r)
    results.push(r)
    lastStepS = r.step_s
    return r
  }
  if (values.connectors !== undefined) {
    for (const n of values.connectors.split(',').map(Number)) {
      if (!Number.isInteger(n) || n < 1) throw new Error(`--connectors: ${n} is not a count`)
      if (left() < lastStepS) {
        console.log(`out of time (--max-minutes ${values['max-minutes']}): ${n} not measured`)
        break
      }
      await run(n)
    }
  } else {
    // Doubling until a count fails, then bisecting between the largest pass and the smallest fail.
    let pass = 0
    let fail = Number.POSITIVE_INFINITY
    let n = num('start')
    while (left() >= lastStepS) {
      const r = await run(n)
      if (r.ok) pass = Math.max(pass, r.connectors)
      else fail = Math.min(fail, r.connectors)
      const next =
        fail === Number.POSITIVE_INFINITY
          ? pass * 2
          : Math.round((pass + fail) / 2 / resolution) * resolution || resolution
      if (fail - pass <= resolution || next <= pass || next >= fail) break
      n = next
    }
    if (left() < lastStepS) console.log(`search stopped by --max-minutes ${values['max-minutes']}`)
  }
  const best = results.filter((r) => r.ok).sort((a, b) => b.connectors - a.connectors)[0]
  console.log('\nconnectors  ok    msgs/s  stored  queryable p50/p99 ms  ws p99 ms  live p99 ms  cpu %')
  for (const r of [...results].sort((a, b) => a.connectors - b.connectors))
    console.log(
      `${fmt(r.connectors).padStart(10)}  ${(r.ok ? 'pass' : 'FAIL').padEnd(4)}  ${fmt(r.msgs_per_s_accepted).padStart(6)}  ${String(r.stored_ratio).padStart(6)}  ` +
        `${`${fmt(r.queryable_p50_ms)}/${fmt(r.queryable_p99_ms)}`.padStart(20)}  ${fmt(r.ws_p99_ms).padStart(9)}  ` +
        `${fmt(Math.max(r.http_p99_ms.live_station, r.http_p99_ms.live_sites)).padStart(11)}  ${JSON.stringify(r.cpu_pct)}`,
    )
  console.log(
    best === undefined
      ? 'RESULT max_connectors=0 live_p99_ms=NaN ws_p99_ms=NaN stored_ratio=NaN'
      : `RESULT max_connectors=${best.connectors} live_p99_ms=${Math.max(best.http_p99_ms.live_station, best.http_p99_ms.live_sites)} ws_p99_ms=${best.ws_p99_ms} stored_ratio=${best.stored_ratio}`,
  )
}
