// API latency and throughput with autocannon, against a bare Fastify route in the same run as the
// ceiling, while the live view changes: 50,000 connectors (5,000 stations) each send telemetry once a
// second for the whole run, decoded by the API's real decoder in the API process (bench/lib-api-server.ts).
// Rows: `/live` and `/availability` (goal ≤ 2× below the bare route), `/live?detail=sites` (goal
// ≥ 1,000 req/s), a 24-hour site-load query and a 30-day utilisation query over 1-minute rollups in a
// private influxd; then 1,000 WebSocket clients on the live site stream (goal: update p99 < 1 s from
// sample time) with the API's CPU. Loopback only. The bare route and the API each run in a child process
// of their own, autocannon in a fresh one per measurement (bench/lib-load.ts) after a warm-up, the
// WebSocket clients in another (bench/lib-ws-clients.ts). The ceiling and the goal rows are measured in
// interleaved rounds; the median round is reported. Ends with
// `RESULT live_ratio=<x> availability_ratio=<y> detail_sites_rps=<z>`.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startInfluxd } from '../test/support/influxd.ts'
import type { ServerSpec } from './lib-api-server.ts'
import type { LoadResult, LoadSpec } from './lib-load.ts'
import { runChild, wsClients } from './lib-child.ts'
import { cpuMeter, metric } from './lib-measure.ts'

const CONNECTIONS = 20
const TOKEN = 'bench-operator-token'
const DAY_MS = 86_400_000
const SETTLE_MS = 5_000 // for influxd to snapshot its write cache into TSM files

/** 30 days of 1-minute rollups for the Beibei site, as the continuous queries would leave them. */
async function writeRollups(influxUrl: string, db: string, now: number, days: number): Promise<void> {
  const q = async (query: string) => {
    const r = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: query }) })
    if (!r.ok) throw new Error(await r.text())
  }
  await q(`CREATE DATABASE "${db}"`)
  await q(`CREATE RETENTION POLICY "rollup" ON "${db}" DURATION 104w REPLICATION 1`)
  const stations = { 'zn-super': 3, 'kc-fast-1': 2, 'kc-fast-2': 2, 'kc-ac': 4 } as const
  const start = now - days * DAY_MS
  let lines: string[] = []
  const flush = async () => {
    const r = await fetch(`${influxUrl}/write?db=${db}&rp=rollup&precision=ms`, {
      method: 'POST',
      body: lines.join('\n'),
    })
    if (!r.ok) throw new Error(await r.text())
    lines = []
  }
  for (let t = start - (start % 60_000); t < now; t += 60_000) {
    const minute = Math.floor(t / 60_000)
    for (const [station, n] of Object.entries(stations)) {
      lines.push(
        `station_1m,site=beibei,station=${station} grid_power_w=${100_000 + (minute % 97) * 1000},aux_power_w=800,cabinet_temp_c=35,grid_energy_wh=${minute * 1700},peak_grid_power_w=250000 ${t}`,
      )
      for (let c = 1; c <= n; c++) {
        const busy = (minute + c) % 7 === 0 ? 1 : 0
        lines.push(
          `connector_1m,connector=${c},site=beibei,station=${station} power_w=${busy * 150_000},soc_pct=${20 + (minute % 60)},occupied=${busy},in_service=1,energy_wh=${minute * 1500 + c},peak_power_w=${busy * 160_000} ${t}`,
        )
      }
    }
    if (lines.length >= 20_000) await flush()
  }
  if (lines.length > 0) await flush()
}

/** Starts one server child process; resolves with its URL and a stop function once it listens. */
async function serverProcess(
  spec: ServerSpec,
): Promise<{ url: string; pid: number; feedMsgsPerS: number; stop(): Promise<void> }> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'lib-api-server.ts'), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const message = await new Promise<{ url: string; pid: number; feedMsgsPerS: number }>((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) =>
      reject(new Error(`${spec.role} server exited (${String(code)}) before listening`)),
    )
  })
  return {
    url: message.url,
    pid: message.pid,
    feedMsgsPerS: message.feedMsgsPerS,
    async stop() {
      if (child.exitCode === null) {
        child.disconnect()
        await exited
      }
    },
  }
}

/** Telemetry messages the API has decoded so far, from its own counter. */
const telemetryDecoded = (apiUrl: string) =>
  metric(`${apiUrl}/metrics`, 'evmon_api_mqtt_messages_total{kind="telemetry"}')

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

export default async function bench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      // Seconds per autocannon row, after `warmup` seconds; interleaved rounds of the goal rows.
      duration: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      // Days of 1-minute rollups written for the history rows.
      'rollup-days': { type: 'string', default: '30' },
      // WebSocket clients on the live site stream, and seconds they are measured for.
      'ws-clients': { type: 'string', default: '1000' },
      'ws-seconds': { type: 'string', default: '20' },
    },
  })
  const DURATION_S = Number(values.duration)
  const WARMUP_S = Number(values.warmup) // the JIT has optimised the request path by then
  const ROUNDS = Number(values.rounds)
  const ROLLUP_DAYS = Number(values['rollup-days'])
  const wsCount = Number(values['ws-clients'])
  const wsSeconds = Number(values['ws-seconds'])
  for (const [name, v] of Object.entries({ DURATION_S, ROUNDS, ROLLUP_DAYS, wsCount, wsSeconds }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: a whole number ≥ 1 expected`)
  let apiUrl = ''
  let feedMsgsPerS = 0
  const measure = async (
    name: string,
    url: string,
    headers: Record<string, string>,
    extra: Record<string, unknown> = {},
  ) => {
    const decodedBefore = await telemetryDecoded(apiUrl)
    const t0 = performance.now()
    const r = await runChild<LoadResult>('lib-load.ts', {
      options: {
        url,
        headers,
        connections: CONNECTIONS,
        ...('amount' in extra ? {} : { duration: DURATION_S }),
        ...extra,
      },
      warmupS: WARMUP_S,
    } satisfies LoadSpec)
    // The feed's rate over the row (warm-up included): it must have kept up for the row to count.
    const feedPerS = Math.round(
      ((await telemetryDecoded(apiUrl)) - decodedBefore) / ((performance.now() - t0) / 1000),
    )
    if (r.non2xx > 0 || r.errors > 0)
      throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`)
    const row = {
      name,
      p50_ms: r.latency.p50,
      p99_ms: r.latency.p99,
      max_ms: r.latency.max,
      req_per_s: Math.round(r.requests.average),
      feed_msgs_per_s: feedPerS,
    }
    console.log(JSON.stringify(row))
    if (feedPerS < 0.95 * feedMsgsPerS)
      console.log(`  the feed fell behind during this row: ${feedPerS} of ${feedMsgsPerS} msgs/s decoded`)
    return row
  }
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-api-'))
  // Rollups of past days sit in TSM files in service; freshly written points sit in influxd's write
  // cache, which is several times slower to read. Snapshot the cache a second after writing stops.
  process.env.INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION = '1s'
  const influx = await startInfluxd({ dir, port: 0 })
  const now = Date.now()
  const db = 'bench_api'
  const servers: Array<{ stop(): Promise<void> }> = []
  try {
    const t0 = performance.now()
    await writeRollups(influx.url, db, now, ROLLUP_DAYS)
    console.log(`wrote ${ROLLUP_DAYS} days of rollups in ${Math.round(performance.now() - t0)} ms`)
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const api = await serverProcess({ role: 'api', influxUrl: influx.url, db, token: TOKEN, now })
    servers.push(api)
    apiUrl = api.url
    feedMsgsPerS = api.feedMsgsPerS
    console.log(
      `live feed: ${feedMsgsPerS.toLocaleString('en')} telemetry messages/s (50,011 connectors at 1 Hz), decoded in the API process`,
    )
    const auth = { authorization: `Bearer ${TOKEN}` }
    // The headers the API answers /live with (minus those every server sends), for a diagnostic row.
    const perAnswer = new Set(['date', 'connection', 'keep-alive', 'content-length', 'content-type'])
    const liveHeaders = Object.fromEntries(
      [...(await fetch(`${api.url}/api/v1/live?site=beibei`, { headers: auth })).headers].filter(
        ([name]) => !perAnswer.has(name),
      ),
    )
    const bare = await serverProcess({ role: 'bare', headers: liveHeaders })
    servers.push(bare)
    // Not a ceiling: how much of a route's cost is its answer's size alone (a bare route sending as many bytes).
    const size = async (path: string, headers: Record<string, string> = auth) =>
      (await (await fetch(`${api.url}${path}`, { headers })).arrayBuffer()).byteLength
    const liveBytes = await size('/api/v1/live?site=beibei')
    const sitesBytes = await size('/api/v1/live?detail=sites')
    // The goal rows, in interleaved rounds: what else the two cores do moves single runs by 10-30 %.
    const goalRows: Array<[name: string, url: string, headers: Record<string, string>]> = [
      ['/live?site=beibei (11 of 50,011 connectors)', `${api.url}/api/v1/live?site=beibei`, auth],
      ['/live?detail=sites (50,000 connectors aggregated)', `${api.url}/api/v1/live?detail=sites`, auth],
      ['/availability?site=beibei', `${api.url}/api/v1/availability?site=beibei`, {}],
    ]
    const ratios = new Map<string, number[]>(goalRows.map(([name]) => [name, []]))
    const rates = new Map<string, number[]>(goalRows.map(([name]) => [name, []]))
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} of ${ROUNDS}`)
      const ceiling = await measure('bare Fastify route (ceiling)', `${bare.url}/bare`, {})
      for (const [name, url, headers] of goalRows) {
        const row = await measure(name, url, headers)
        ratios.get(name)?.push(ceiling.req_per_s / row.req_per_s)
        rates.get(name)?.push(row.req_per_s)
      }
    }
    console.log('diagnostics and latency goals')
    const ceiling = await measure('bare Fastify route (ceiling)', `${bare.url}/bare`, {})
    const rows = [
      await measure(
        `bare route, ${liveBytes}-byte answer (size of /live?site=beibei)`,
        `${bare.url}/bare/${liveBytes}`,
        {},
      ),
      await measure(
        `bare route, ${sitesBytes}-byte answer (size of /live?detail=sites)`,
        `${bare.url}/bare/${sitesBytes}`,
        {},
      ),
      await measure(
        `bare route, ${liveBytes}-byte answer and the API's ${Object.keys(liveHeaders).length} headers`,
        `${bare.url}/bare-headers/${liveBytes}`,
        {},
      ),
      await measure(
        '/live?site=site-7 (1,000 connectors, ≈250 KB answer)',
        `${api.url}/api/v1/live?site=site-7`,
        auth,
      ),
      // Latency goals are for one client at a time; the same queries under 20 connections show the throughput.
      await measure(
        '/sites/beibei/load, 24 h (rollup), 1 connection',
        `${api.url}/api/v1/sites/beibei/load?from=${now - DAY_MS}&to=${now}`,
        auth,
        { connections: 1 },
      ),
      await measure(
        '/sites/beibei/load, 24 h (rollup)',
        `${api.url}/api/v1/sites/beibei/load?from=${now - DAY_MS}&to=${now}`,
        auth,
      ),
      await measure(
        '/metrics/utilisation?site=beibei, 30 days (rollup)',
        `${api.url}/api/v1/metrics/utilisation?site=beibei&from=${now - ROLLUP_DAYS * DAY_MS}&to=${now}`,
        auth,
        { connections: 1, amount: 20 },
      ),
    ]
    for (const r of rows.slice(0, 4))
      console.log(`${r.name}: ${(ceiling.req_per_s / r.req_per_s).toFixed(2)}× below the ceiling`)
    for (const [name, values] of ratios)
      console.log(
        `${name}: median ${median(values).toFixed(2)}× below the ceiling over ${ROUNDS} rounds (${values.map((v) => `${v.toFixed(2)}×`).join(', ')}), median ${median(rates.get(name) ?? []).toLocaleString('en')} req/s`,
      )

    // The live site stream: the API's CPU with the feed alone, then with the clients connected.
    const meter = cpuMeter({ api: api.pid })
    await new Promise((resolve) => setTimeout(resolve, 5_000))
    const feedOnly = meter().api
    console.log(`API CPU with the feed alone: ${feedOnly}% of one core`)
    let wsMeter = cpuMeter({ api: api.pid })
    const ws = await wsClients(
      {
        url: `${api.url.replace('http', 'ws')}/api/v1/live/ws?site=beibei`,
        token: TOKEN,
        clients: wsCount,
        durationS: wsSeconds,
      },
      () => (wsMeter = cpuMeter({ api: api.pid })),
    )
    const wsCpu = wsMeter().api
    console.log(
      JSON.stringify({
        name: `${wsCount} WebSocket clients on /live/ws?site=beibei, sample time → client`,
        ...ws,
        api_cpu_pct: wsCpu,
      }),
    )
    console.log(
      `WebSocket: ${ws.connected} clients, ${ws.lost} lost, ${ws.updates.toLocaleString('en')} samples timed, p50 ${ws.p50_ms} ms, p99 ${ws.p99_ms} ms (goal < 1,000 ms), API CPU ${wsCpu}% of one core (${feedOnly}% with the feed alone)`,
    )
    const [liveRow, sitesRow, availabilityRow] = goalRows.map(([name]) => name)
    console.log(
      `RESULT live_ratio=${median(ratios.get(liveRow ?? '') ?? []).toFixed(2)} availability_ratio=${median(ratios.get(availabilityRow ?? '') ?? []).toFixed(2)} detail_sites_rps=${median(rates.get(sitesRow ?? '') ?? [])}`,
    )
  } finally {
    for (const server of servers) await server.stop()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
