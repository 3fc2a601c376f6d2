// API latency and throughput with autocannon, against a bare Fastify route in the same run as the
// ceiling: `/live` with 50,000 connectors in the live view, `/availability`, a 24-hour site-load query
// and a 30-day utilisation query over 1-minute rollups in a private influxd. Loopback only.
// The bare route and the API each run in a child process of their own (bench/lib-api-server.ts);
// autocannon runs here, so its parsing of the answers is not charged to the server measured.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startInfluxd } from '../scripts/influxd.ts'
import type { ServerSpec } from './lib-api-server.ts'

interface Result {
  latency: { p50: number; p99: number; max: number }
  requests: { average: number }
  non2xx: number
  errors: number
}
type Autocannon = (options: Record<string, unknown>) => Promise<Result>
// autocannon ships no types; only the fields read above are relied on.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const ROLLUP_DAYS = 30
const DURATION_S = 8
const CONNECTIONS = 20
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

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  extra: Record<string, unknown> = {},
) {
  const r = await autocannon({
    url,
    headers,
    connections: CONNECTIONS,
    ...('amount' in extra ? {} : { duration: DURATION_S }),
    ...extra,
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
    const rows = [
      await measure('bare Fastify route (ceiling)', `${bare.url}/bare`, {}),
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
        '/live?site=beibei (11 of 50,011 connectors)',
        `${api.url}/api/v1/live?site=beibei`,
        auth,
      ),
      await measure(
        '/live?site=site-7 (1,000 connectors, ≈250 KB answer)',
        `${api.url}/api/v1/live?site=site-7`,
        auth,
      ),
      await measure(
        '/live?detail=sites (50,000 connectors aggregated)',
        `${api.url}/api/v1/live?detail=sites`,
        auth,
      ),
      await measure('/availability?site=beibei', `${api.url}/api/v1/availability?site=beibei`, {}),
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
    const ceiling = rows[0]?.req_per_s ?? 1
    for (const r of rows.slice(1))
      console.log(`${r.name}: ${(ceiling / r.req_per_s).toFixed(2)}× below the ceiling`)
  } finally {
    for (const server of servers) await server.stop()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
