// Where sessions are derived, measured: the API's rebuild of the session list from `event` points
// (api/src/sessions/sessions.ts, the code the route runs) against reading one stored `session` point per
// session, as ingest used to write them at the session's start time, in the same private influxd.
// Seeds `--days` of a site's events (every connector has `--per-connector-day` sessions a day, each with
// its status changes, started and stopped events, mapped by the contract's messageToPoints) plus those
// session points, waits for influxd to move them into TSM files, then times the rows in interleaved
// rounds and prints p50/p95/max in ms. Rows:
// - rebuild: listSessions over the whole range (count, page, stops and status events);
// - session points: count and page of the stored points alone (they lack the plug times, so the
//   list would still need the status query: the next row);
// - session points + status: what the list would cost if it read ingest's points.
// Ends with `RESULT rebuild_p95_ms=<x> points_p95_ms=<y> points_status_p95_ms=<z>` for the 50-session page.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { messageToPoints, toLine, type ConnectorStatus, type DecodedMessage } from '@evmon/contracts'
import { createInfluxClient, type InfluxClient } from '../api/src/influx/client.ts'
import { listSessions } from '../api/src/sessions/sessions.ts'
import { startInfluxd } from '../test/support/influxd.ts'
import { percentile } from './lib-measure.ts'

const DAY_MS = 86_400_000
const SITE = 'beibei'
/** The Beibei site's stations and their connector counts, as in its site file. */
const STATIONS = { 'zn-super': 3, 'kc-fast-1': 2, 'kc-fast-2': 2, 'kc-ac': 4 } as const
/** The measurement ingest wrote one point per session into (fields as it wrote them). */
const SESSION_MEASUREMENT = 'session'
const SETTLE_MS = 5_000 // for influxd to snapshot its write cache into TSM files

/** A session's life on one connector: status changes, then started/stopped, over ~55 minutes. */
function* sessionMessages(
  station: string,
  connector: number,
  id: string,
  t: number,
  n: number,
): Generator<DecodedMessage | { sessionPoint: string }> {
  const status = (ts: number, s: ConnectorStatus): DecodedMessage => ({
    kind: 'status',
    site: SITE,
    station,
    payload: { ts, connector, status: s, error_code: 'NoError' },
  })
  const chargeMs = (30 + (n % 30)) * 60_000
  const stop = t + chargeMs + 10 * 60_000
  const energy = 20_000 + (n % 50) * 1_000
  yield status(t - 60_000, 'Preparing')
  yield {
    kind: 'session',
    site: SITE,
    station,
    payload: { ts: t, event: 'started', session: id, connector, vehicle: `car-${n % 40}`, soc_pct: 20 },
  }
  yield status(t + 1_000, 'Charging')
  yield status(t + chargeMs, 'SuspendedEV')
  yield status(t + chargeMs + 5 * 60_000, 'Finishing')
  yield {
    kind: 'session',
    site: SITE,
    station,
    payload: {
      ts: stop,
      event: 'stopped',
      session: id,
      connector,
      soc_pct: 80,
      energy_wh: energy,
      reason: 'EVDisconnected',
    },
  }
  yield status(stop + 1_000, 'Available')
  yield {
    sessionPoint:
      `${SESSION_MEASUREMENT},connector=${connector},site=${SITE},station=${station} ` +
      `session="${id}",started_at=${t},duration_s=${(stop - t) / 1000},energy_wh=${energy},soc_start=20,` +
      `soc_end=80,peak_power_w=150000,vehicle="car-${n % 40}",reason="EVDisconnected" ${t}`,
  }
}

async function seed(
  influxUrl: string,
  db: string,
  now: number,
  days: number,
  perDay: number,
): Promise<number> {
  const post = async (path: string, body: string | URLSearchParams) => {
    const r = await fetch(`${influxUrl}${path}`, { method: 'POST', body })
    if (!r.ok) throw new Error(await r.text())
  }
  await post('/query', new URLSearchParams({ q: `CREATE DATABASE "${db}"` }))
  let lines: string[] = []
  const flush = async () => {
    await post(`/write?db=${db}&precision=ms`, lines.join('\n'))
    lines = []
  }
  let sessions = 0
  const gapMs = DAY_MS / perDay
  for (let t = now - days * DAY_MS + 60_000; t + gapMs < now; t += gapMs) {
    for (const [station, connectors] of Object.entries(STATIONS)) {
      for (let c = 1; c <= connectors; c++) {
        const id = `s-${station}-${c}-${sessions}`
        // Connectors start their sessions a few minutes apart, as independent drivers would.
        const start = Math.round(t + c * 97_000)
        for (const m of sessionMessages(station, c, id, start, sessions)) {
          if ('sessionPoint' in m) lines.push(m.sessionPoint)
          else for (const p of messageToPoints(m, start)) lines.push(toLine(p))
        }
        sessions++
      }
    }
    if (lines.length >= 20_000) await flush()
  }
  if (lines.length > 0) await flush()
  return sessions
}

/** The list read from stored session points: count and one page, newest first. */
function readPoints(influx: InfluxClient, from: number, to: number, limit: number) {
  const where = `"site" = '${SITE}' AND time >= ${from}ms AND time < ${to}ms`
  return influx.query(
    `SELECT count("session") FROM "${SESSION_MEASUREMENT}" WHERE ${where}; ` +
      `SELECT "session", "started_at", "duration_s", "energy_wh", "soc_start", "soc_end", "peak_power_w", "vehicle", "reason" ` +
      `FROM "${SESSION_MEASUREMENT}" WHERE ${where} ORDER BY time DESC LIMIT ${limit}`,
  )
}

/** The same, plus the status events the plug times need (the query the rebuild runs for them). */
async function readPointsWithStatus(
  influx: InfluxClient,
  from: number,
  to: number,
  limit: number,
  now: number,
) {
  const [, page] = await readPoints(influx, from, to, limit)
  const times = (page?.series?.[0]?.values ?? []).map((row) => row[0] as number)
  if (times.length === 0) return
  await influx.query(
    `SELECT "status", "error_code" FROM "event" WHERE "type" = 'status' AND "site" = '${SITE}' AND ` +
      `time >= ${Math.min(...times) - DAY_MS}ms AND time < ${Math.min(Math.max(...times) + 7 * DAY_MS, now + 1)}ms ` +
      `GROUP BY "site", "station", "connector"`,
  )
}

export default async function bench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      days: { type: 'string', default: '30' },
      // Sessions a connector has a day (11 connectors: 8 a day is ≈ 2,600 sessions in 30 days).
      'per-connector-day': { type: 'string', default: '8' },
      rounds: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '3' },
    },
  })
  const days = Number(values.days)
  const perDay = Number(values['per-connector-day'])
  const rounds = Number(values.rounds)
  const warmup = Number(values.warmup)
  for (const [name, v] of Object.entries({ days, perDay, rounds }))
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: a whole number ≥ 1 expected`)
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-sessions-'))
  process.env.INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION = '1s'
  const influxd = await startInfluxd({ dir, port: 0 })
  const db = 'bench_sessions'
  const influx = createInfluxClient({ url: influxd.url, database: db, queryTimeoutMs: 60_000 })
  try {
    const now = Date.now()
    const t0 = performance.now()
    const sessions = await seed(influxd.url, db, now, days, perDay)
    console.log(`seeded ${sessions} sessions over ${days} days in ${Math.round(performance.now() - t0)} ms`)
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    const from = now - days * DAY_MS
    const window = { fromMs: from, toMs: now, nowMs: now }
    const rows: Array<[name: string, run: () => Promise<unknown>]> = []
    for (const limit of [50, 500]) {
      rows.push(
        [`rebuild (API), page of ${limit}`, () => listSessions(influx, { site: SITE }, window, limit, 0)],
        [`session points, page of ${limit}`, () => readPoints(influx, from, now, limit)],
        [
          `session points + status, page of ${limit}`,
          () => readPointsWithStatus(influx, from, now, limit, now),
        ],
      )
    }
    // Check the two sources agree before timing them.
    const rebuilt = await listSessions(influx, { site: SITE }, window, 50, 0)
    const [count] = await readPoints(influx, from, now, 50)
    const stored = Number(count?.series?.[0]?.values[0]?.[1] ?? 0)
    if (rebuilt.total !== stored || rebuilt.total === 0)
      throw new Error(`the rebuild counts ${rebuilt.total} sessions, the session points ${stored}`)
    const times = new Map<string, number[]>(rows.map(([name]) => [name, []]))
    for (let round = -warmup; round < rounds; round++) {
      for (const [name, run] of rows) {
        const t = performance.now()
        await run()
        if (round >= 0) times.get(name)?.push(performance.now() - t)
      }
    }
    const p95 = (name: string) => Math.round(percentile(times.get(name) ?? [], 95) * 10) / 10
    for (const [name, ms] of times) {
      const fmt = (p: number) => Math.round(percentile(ms, p) * 10) / 10
      console.log(
        JSON.stringify({ name, sessions: rebuilt.total, p50_ms: fmt(50), p95_ms: fmt(95), max_ms: fmt(100) }),
      )
    }
    console.log(
      `RESULT rebuild_p95_ms=${p95('rebuild (API), page of 50')} points_p95_ms=${p95('session points, page of 50')} ` +
        `points_status_p95_ms=${p95('session points + status, page of 50')}`,
    )
  } finally {
    influx.close()
    await influxd.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
