// API latency and throughput with autocannon, against a bare Fastify route in the same run as the
// ceiling: `/live` with 50,000 connectors in the live view, `/availability`, a 24-hour site-load query
// and a 30-day utilisation query over 1-minute rollups in a private influxd. Loopback only.
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stationTopic } from '@evmon/contracts'
import Fastify from 'fastify'
import { loadConfig, start } from '../api/src/index.ts'
import type { MessageFeed } from '../api/src/live/mqtt-feed.ts'
import { startInfluxd } from '../scripts/influxd.ts'

interface Result {
  latency: { p50: number; p99: number; max: number }
  requests: { average: number }
  non2xx: number
  errors: number
}
type Autocannon = (options: Record<string, unknown>) => Promise<Result>
// autocannon ships no types; only the fields read above are relied on.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

const SITES = 50
const STATIONS_PER_SITE = 100
const CONNECTORS_PER_STATION = 10 // 50 × 100 × 10 = 50,000 connectors
const ROLLUP_DAYS = 30
const DURATION_S = 8
const CONNECTIONS = 20
const TOKEN = 'bench-operator-token'
const DAY_MS = 86_400_000
const SETTLE_MS = 5_000 // for influxd to snapshot its write cache into TSM files

/** Feeds the live view once with every synthetic station plus the Beibei stations. */
function syntheticFeed(now: number): MessageFeed {
  return {
    start(onMessage) {
      const send = (site: string, station: string, kind: 'meta' | 'online' | 'telemetry', payload: unknown) =>
        onMessage(stationTopic(site, station, kind), Buffer.from(JSON.stringify(payload)))
      const connectors = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: i + 1,
          kind: 'dc',
          standard: 'GB/T 20234.3',
          max_power_w: 160_000,
          max_current_a: 250,
          min_voltage_v: 200,
          max_voltage_v: 1000,
        }))
      const station = (site: string, id: string, n: number, maxW = 160_000) => {
        send(site, id, 'meta', {
          v: 1,
          name: id,
          cooling: 'air',
          cabinet_max_power_w: maxW * 2,
          connectors: connectors(n),
        })
        send(site, id, 'online', { online: true, ts: now })
        send(site, id, 'telemetry', {
          v: 1,
          ts: now,
          seq: 1,
          meter: { grid_power_w: 100_000, grid_energy_wh: 1e6, aux_power_w: 500 },
          connectors: Array.from({ length: n }, (_, i) => ({
            id: i + 1,
            status: i % 3 === 0 ? 'Charging' : 'Available',
            power_w: i % 3 === 0 ? 90_000 : 0,
            offered_w: 0,
            voltage_v: 0,
            current_a: 0,
            energy_wh: 1000,
            ...(i % 3 === 0 && { soc_pct: 40 }),
          })),
        })
      }
      for (let s = 0; s < SITES; s++) {
        for (let t = 0; t < STATIONS_PER_SITE; t++) station(`site-${s}`, `st-${t}`, CONNECTORS_PER_STATION)
      }
      for (const [id, n] of [
        ['zn-super', 3],
        ['kc-fast-1', 2],
        ['kc-fast-2', 2],
        ['kc-ac', 4],
      ] as const)
        station('beibei', id, n)
    },
    connected: () => true,
    close: async () => {},
  }
}

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
  const bare = Fastify()
  bare.get('/bare', async () => ({ ok: true }))
  await bare.listen({ host: '127.0.0.1', port: 0 })
  const now = Date.now()
  const db = 'bench_api'
  try {
    const t0 = performance.now()
    await writeRollups(influx.url, db, now)
    console.log(`wrote ${ROLLUP_DAYS} days of rollups in ${Math.round(performance.now() - t0)} ms`)
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const api = await start(
      loadConfig({
        EVMON_HTTP_PORT: '0',
        EVMON_INFLUX_URL: influx.url,
        EVMON_INFLUX_DB: db,
        EVMON_LOG_LEVEL: 'warn',
        EVMON_API_TOKENS: `operator:${createHash('sha256').update(TOKEN).digest('hex')}`,
        EVMON_RATE_LIMIT_PUBLIC: '10000000',
        EVMON_RATE_LIMIT_TOKEN: '10000000',
      }),
      { feed: syntheticFeed(now) },
    )
    const auth = { authorization: `Bearer ${TOKEN}` }
    const address = bare.server.address() as { port: number }
    const rows = [
      await measure('bare Fastify route (ceiling)', `http://127.0.0.1:${address.port}/bare`, {}),
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
    await api.close()
  } finally {
    await bare.close()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
