import {
  CONNECTOR_STATUSES,
  ERROR_CODES,
  MEASUREMENTS,
  energyCost,
  type ConnectorStatus,
  type ErrorCode,
  type SessionDetail,
  type SessionStatusEvent,
  type SessionSummary,
  type Tariff,
} from '@evmon/contracts'
import { rowsOf } from '../analytics/rows.ts'
import { whereClause, type Scope } from '../analytics/scope.ts'
import { notFound } from '../errors.ts'
import { assertMs, quoteIdentifier, quoteString } from '../history/influxql.ts'
import { chooseResolution, sourcesOf } from '../history/resolution.ts'
import type { InfluxClient, InfluxStatementResult } from '../plugins/influx.ts'

const q = quoteIdentifier
const EVENT = q(MEASUREMENTS.event)
/** A session's stop is looked for up to this long after its start. */
const MAX_SESSION_MS = 7 * 86_400_000
const MAX_CURVE_POINTS = 5_000

interface Started {
  id: string
  site: string
  station: string
  connector: number
  t: number
  vehicle: string | null
  soc: number | null
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : null)

function startedOf(columns: string[], row: unknown[]): Started {
  const get = (name: string) => row[columns.indexOf(name)]
  return {
    id: String(get('session')),
    site: String(get('site')),
    station: String(get('station')),
    connector: Number(get('connector')),
    t: row[0] as number,
    vehicle: str(get('vehicle')),
    soc: numOrNull(get('soc_pct')),
  }
}

const isStatus = (v: unknown): v is ConnectorStatus => (CONNECTOR_STATUSES as readonly unknown[]).includes(v)
const isErrorCode = (v: unknown): v is ErrorCode => (ERROR_CODES as readonly unknown[]).includes(v)

/** Status events of a statement's rows (time, status, error_code); rows with unknown values are skipped. */
function statusEventsOf(result: InfluxStatementResult | undefined): SessionStatusEvent[] {
  const out: SessionStatusEvent[] = []
  for (const s of result?.series ?? []) {
    const status = s.columns.indexOf('status')
    const errorCode = s.columns.indexOf('error_code')
    for (const row of s.values) {
      const st = row[status]
      const ec = row[errorCode]
      if (typeof row[0] === 'number' && isStatus(st)) {
        out.push({ t: row[0], status: st, error_code: isErrorCode(ec) ? ec : 'NoError' })
      }
    }
  }
  return out.sort((a, b) => a.t - b.t)
}

/** Joins started events with their stopped events (found by session id). */
async function withStops(influx: InfluxClient, started: Started[], scope: Scope): Promise<SessionSummary[]> {
  if (started.length === 0) return []
  const from = Math.min(...started.map((s) => s.t))
  const to = Math.max(...started.map((s) => s.t)) + MAX_SESSION_MS
  const [result] = await influx.query(
    `SELECT "session", "energy_wh", "soc_pct", "reason" FROM ${EVENT} WHERE "type" = 'session_stopped' AND ${whereClause(scope, from, to)}`,
  )
  const stops = new Map<
    string,
    { t: number; energy: number | null; soc: number | null; reason: string | null }
  >()
  for (const s of result?.series ?? []) {
    for (const row of s.values) {
      const get = (name: string) => row[s.columns.indexOf(name)]
      stops.set(String(get('session')), {
        t: row[0] as number,
        energy: numOrNull(get('energy_wh')),
        soc: numOrNull(get('soc_pct')),
        reason: str(get('reason')),
      })
    }
  }
  return started.map((s) => {
    const stop = stops.get(s.id)
    return {
      id: s.id,
      site: s.site,
      station: s.station,
      connector: s.connector,
      vehicle: s.vehicle,
      started_at: s.t,
      ended_at: stop?.t ?? null,
      duration_s: stop === undefined ? null : (stop.t - s.t) / 1000,
      energy_wh: stop?.energy ?? null,
      soc_start: s.soc,
      soc_end: stop?.soc ?? null,
      reason: stop?.reason ?? null,
    }
  })
}

/** Sessions that started in [fromMs, toMs), newest first, one page, with the total count. */
export async function listSessions(
  influx: InfluxClient,
  scope: Scope,
  fromMs: number,
  toMs: number,
  limit: number,
  offset: number,
): Promise<{ total: number; sessions: SessionSummary[] }> {
  const where = `"type" = 'session_started' AND ${whereClause(scope, fromMs, toMs)}`
  const [count, page] = await influx.query(
    `SELECT count("session") FROM ${EVENT} WHERE ${where}; ` +
      `SELECT "session", "vehicle", "soc_pct", "site", "station", "connector" FROM ${EVENT} WHERE ${where} ORDER BY time DESC LIMIT ${assertMs(limit, 'limit')} OFFSET ${assertMs(offset, 'offset')}`,
  )
  const total = Number(count?.series?.[0]?.values[0]?.[1] ?? 0)
  const series = page?.series?.[0]
  const started = series === undefined ? [] : series.values.map((row) => startedOf(series.columns, row))
  return { total, sessions: await withStops(influx, started, scope) }
}

/** One session with its curve (≤ 5,000 buckets), peak and mean power, charging speed and cost. */
export async function readSession(
  influx: InfluxClient,
  id: string,
  nowMs: number,
  tariff: Tariff | null,
  timeZoneOf: (site: string) => string,
): Promise<SessionDetail> {
  const [result] = await influx.query(
    `SELECT "session", "vehicle", "soc_pct", "site", "station", "connector" FROM ${EVENT} WHERE "type" = 'session_started' AND "session" = ${quoteString(id)} LIMIT 1`,
  )
  const series = result?.series?.[0]
  const row = series?.values[0]
  if (series === undefined || row === undefined) throw notFound(`session ${id}`)
  const started = startedOf(series.columns, row)
  const scope = { site: started.site, station: started.station, connector: started.connector }
  const [summary] = (await withStops(influx, [started], scope)) as [SessionSummary]
  const endMs = Math.max(started.t + 1, summary.ended_at ?? nowMs)
  const resolution = chooseResolution('auto', started.t, endMs, nowMs, Number.POSITIVE_INFINITY)
  const source = sourcesOf(resolution).connector
  const minBucket = resolution === 'raw' ? 1_000 : 60_000
  const everyMs = Math.max(
    minBucket,
    Math.ceil((endMs - started.t) / MAX_CURVE_POINTS / minBucket) * minBucket,
  )
  const where = whereClause(scope, started.t, endMs + 1)
  const [curve, stats, speed, statuses] = await influx.query(
    [
      `SELECT mean("power_w") AS power_w, mean("soc_pct") AS soc_pct, mean("temp_c") AS temp_c, max("energy_wh") AS energy_wh FROM ${source} WHERE ${where} GROUP BY time(${everyMs}ms) fill(none)`,
      `SELECT max(${q(resolution === 'raw' ? 'power_w' : 'peak_power_w')}) AS peak, mean("power_w") AS mean, min("energy_wh") AS e0, max("energy_wh") AS e1 FROM ${source} WHERE ${where}`,
      `SELECT mean("power_w") AS speed FROM ${source} WHERE ${where} AND "power_w" > 0 AND "soc_pct" >= 10 AND "soc_pct" <= 80`,
      `SELECT "status", "error_code" FROM ${EVENT} WHERE "type" = 'status' AND ${where}`,
    ].join('; '),
  )
  const points = rowsOf(curve).map((r) => ({
    t: r.t,
    power_w: r.values.power_w ?? null,
    soc_pct: r.values.soc_pct ?? null,
    temp_c: r.values.temp_c ?? null,
    energy_wh: r.values.energy_wh ?? null,
  }))
  const s = rowsOf(stats)[0]?.values ?? {}
  const registerWh = s.e0 != null && s.e1 != null ? s.e1 - s.e0 : null
  const energyWh = summary.energy_wh ?? registerWh
  // Price each bucket's energy at its own local time: a session can cross a tariff boundary.
  const slices: Array<[number, number]> = []
  let previous = s.e0 ?? null
  for (const p of points) {
    if (p.energy_wh !== null && previous !== null) slices.push([p.t, Math.max(0, p.energy_wh - previous)])
    if (p.energy_wh !== null) previous = p.energy_wh
  }
  return {
    ...summary,
    energy_wh: energyWh,
    peak_power_w: s.peak ?? null,
    mean_power_w: s.mean ?? null,
    charging_speed_w: rowsOf(speed)[0]?.values.speed ?? null,
    cost: tariff === null || energyWh === null ? null : energyCost(tariff, slices, timeZoneOf(started.site)),
    curve: points,
    status_events: statusEventsOf(statuses),
  }
}
