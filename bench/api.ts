// API latency and throughput with autocannon, against a bare Fastify route in the same run as the
// ceiling: `/live` with 50,000 connectors in the live view, `/availability`, a 24-hour site-load query
// and a 30-day utilisation query over 1-minute rollups in a private influxd. Loopback only.
// The bare route and the API each run in a child process of their own (bench/lib-api-server.ts), and
// autocannon in a fresh one per measurement (bench/lib-load.ts), after a 2 s warm-up. The ceiling and
// the routes with a ≤ 2× goal are measured in rounds, interleaved; the median round's ratio is reported.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startInfluxd } from '../scripts/influxd.ts'
import type { ServerSpec } from './lib-api-server.ts'
import type { LoadResult, LoadSpec } from './lib-load.ts'

const ROLLUP_DAYS = 30
const DURATION_S = 8
const WARMUP_S = 2 // the JIT has optimised the request path by then, as in a server that has been up a while
const CONNECTIONS = 20
const ROUNDS = 3
const TOKEN = 'bench-operator-token'
const DAY_MS = 86_400_000
const SETTLE_MS = 5_000 // for influxd to snapshot its write cache into TSM files

/** 30 days of 1-minute rollups for the Beibei site, as the continuous queries would leave them. */
async function writeRollups(influxUrl: string, db: string, now: number): Promise<void> {
  const q = async (query: string) => {
    const r = await fetch(`${influxUrl}/query`, { method: 'POST', body: new URLSearchParams({ q: query }) })
    if (!r.ok) throw new Error(await r.text())
  }
  await q(`CREATE DATABASE "${db}"`)
  await q(`CREATE RETENTION POLICY "rollup" ON "${db}" DURATION 104w REPLICATION 1`)
  const stations = { 'zn-super': 3, 'kc-fast-1': 2, 'kc-fast-2': 2, 'kc-ac': 4 } as const
  const start = now - ROLLUP_DAYS * DAY_MS
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
async function serverProcess(spec: ServerSpec): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'lib-api-server.ts'), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const message = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', resolve)
    child.once('exit', (code) =>
      reject(new Error(`${spec.role} server exited (${String(code)}) before listening`)),
    )
  })
  return {
    url: message.url,
    async stop() {
      if (child.exitCode === null) {
        child.disconnect()
        await exited
      }
    },
  }
}

/** Runs autocannon in a child process of its own and resolves with its result. */
async function load(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(join(import.meta.dirname, 'lib-load.ts'), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const result = await new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (m) => resolve(m as LoadResult))
    child.once('exit', (code) =>
      reject(new Error(`load generator exited (${String(code)}) without a result`)),
    )
  })
  await exited
  return result
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  extra: Record<string, unknown> = {},
) {
  const r = await load({
    options: {
      url,
      headers,
      connections: CONNECTIONS,
      ...('amount' in extra ? {} : { duration: DURATION_S }),
      ...extra,
    },
    warmupS: WARMUP_S,
  })
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`${name}: ${r.non2xx} non-2xx answers, ${r.errors} errors`)
  const row = {
    name,
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    req_per_s: Math.round(r.requests.average),
  }
  console.log(JSON.stringify(row))
  return row
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number

export default async function bench(): Promise<void> {
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
    await writeRollups(influx.url, db, now)
    console.log(`wrote ${ROLLUP_DAYS} days of rollups in ${Math.round(performance.now() - t0)} ms`)
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const api = await serverProcess({ role: 'api', influxUrl: influx.url, db, token: TOKEN, now })
    servers.push(api)
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
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round} of ${ROUNDS}`)
      const ceiling = await measure('bare Fastify route (ceiling)', `${bare.url}/bare`, {})
      for (const [name, url, headers] of goalRows) {
        const row = await measure(name, url, headers)
        ratios.get(name)?.push(ceiling.req_per_s / row.req_per_s)
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
        `${name}: median ${median(values).toFixed(2)}× below the ceiling over ${ROUNDS} rounds (${values.map((v) => `${v.toFixed(2)}×`).join(', ')})`,
      )
  } finally {
    for (const server of servers) await server.stop()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
