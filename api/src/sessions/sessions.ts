import {
  CHARGING_STATUS,
  CONNECTOR_STATUSES,
  IDLE_STATUSES,
  ERROR_CODES,
  MEASUREMENTS,
  energyCost,
  ratio,
  type ConnectorStatus,
  type ErrorCode,
  type SessionDetail,
  type SessionStatusEvent,
  type SessionSummary,
  type Tariff,
} from '@evmon/contracts'
import { rowsOf } from '../influx/rows.ts'
import { whereClause, type Scope } from '../influx/scope.ts'
import { sessionSpeedStatement } from '../analytics/speed.ts'
import { notFound } from '../errors.ts'
import { assertMs, quoteIdentifier, quoteString } from '../influx/influxql.ts'
import { chooseResolution, sourcesOf } from '../influx/resolution.ts'
import type { InfluxClient, InfluxStatementResult } from '../influx/client.ts'

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

/**
 * Time Charging and time idle (SuspendedEV, Finishing) in [fromMs, toMs), from a connector's status
 * events in time order; the state at `fromMs` is the last event at or before it.
 */
export function plugTimes(
  events: readonly SessionStatusEvent[],
  fromMs: number,
  toMs: number,
): { charging_s: number; idle_s: number } {
  let charging = 0
  let idle = 0
  let status: ConnectorStatus | null = null
  let t = fromMs
  const add = (until: number) => {
    const ms = Math.max(0, Math.min(until, toMs) - t)
    if (status === CHARGING_STATUS) charging += ms
    else if (status !== null && IDLE_STATUSES.has(status)) idle += ms
  }
  for (const e of events) {
    if (e.t >= toMs) break
    if (e.t > fromMs) {
      add(e.t)
      t = e.t
    }
    status = e.status
  }
  add(toMs)
  return { charging_s: charging / 1000, idle_s: idle / 1000 }
}

/** How far before a session's start its connector's status is looked for (it changes as a car plugs in). */
const STATUS_LOOKBACK_MS = 86_400_000

/** Joins started events with their stopped events (found by session id) and their status times. */
async function withStops(
  influx: InfluxClient,
  started: Started[],
  scope: Scope,
  nowMs: number,
): Promise<SessionSummary[]> {
  if (started.length === 0) return []
  const from = Math.min(...started.map((s) => s.t))
  const to = Math.max(...started.map((s) => s.t)) + MAX_SESSION_MS
  const [result, statusResult] = await influx.query(
    `SELECT "session", "energy_wh", "soc_pct", "reason" FROM ${EVENT} WHERE "type" = 'session_stopped' AND ${whereClause(scope, from, to)}; ` +
      `SELECT "status", "error_code" FROM ${EVENT} WHERE "type" = 'status' AND ${whereClause(scope, from - STATUS_LOOKBACK_MS, Math.min(to, nowMs + 1))} GROUP BY "site", "station", "connector"`,
  )
  const statuses = new Map<string, SessionStatusEvent[]>()
  for (const series of statusResult?.series ?? []) {
    const { site, station, connector } = series.tags ?? {}
    statuses.set(`${site}/${station}/${connector}`, statusEventsOf({ statement_id: 0, series: [series] }))
  }
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
    const events = statuses.get(`${s.site}/${s.station}/${s.connector}`) ?? []
    return {
      ...plugTimes(events, s.t, stop?.t ?? nowMs),
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
  window: { fromMs: number; toMs: number; nowMs: number },
  limit: number,
  offset: number,
): Promise<{ total: number; sessions: SessionSummary[] }> {
  const { fromMs, toMs, nowMs } = window
  const where = `"type" = 'session_started' AND ${whereClause(scope, fromMs, toMs)}`
  const [count, page] = await influx.query(
    `SELECT count("session") FROM ${EVENT} WHERE ${where}; ` +
      `SELECT "session", "vehicle", "soc_pct", "site", "station", "connector" FROM ${EVENT} WHERE ${where} ORDER BY time DESC LIMIT ${assertMs(limit, 'limit')} OFFSET ${assertMs(offset, 'offset')}`,
  )
  const total = Number(count?.series?.[0]?.values[0]?.[1] ?? 0)
  const series = page?.series?.[0]
  const started = series === undefined ? [] : series.values.map((row) => startedOf(series.columns, row))
  return { total, sessions: await withStops(influx, started, scope, nowMs) }
}

/** One session with its curve (≤ 5,000 buckets), peak and mean power, charging speed and cost. */
export async function readSession(
  influx: InfluxClient,
  id: string,
  nowMs: number,
  siteOf: (site: string) => { tariff: Tariff; timezone: string } | undefined,
): Promise<SessionDetail> {
  const [result] = await influx.query(
    `SELECT "session", "vehicle", "soc_pct", "site", "station", "connector" FROM ${EVENT} WHERE "type" = 'session_started' AND "session" = ${quoteString(id)} LIMIT 1`,
  )
  const series = result?.series?.[0]
  const row = series?.values[0]
  if (series === undefined || row === undefined) throw notFound(`session ${id}`)
  const started = startedOf(series.columns, row)
  const scope = { site: started.site, station: started.station, connector: started.connector }
  const [summary] = (await withStops(influx, [started], scope, nowMs)) as [SessionSummary]
  const endMs = Math.max(started.t + 1, summary.ended_at ?? nowMs)
  const resolution = chooseResolution('auto', started.t, endMs, nowMs, Number.POSITIVE_INFINITY)
  const source = sourcesOf(resolution).connector
  const minBucket = resolution === 'raw' ? 1_000 : 60_000
  const everyMs = Math.max(
    minBucket,
    Math.ceil((endMs - started.t) / MAX_CURVE_POINTS / minBucket) * minBucket,
  )
  const where = whereClause(scope, started.t, endMs + 1)
  const [curve, stats, steps, statuses, speed] = await influx.query(
    [
      `SELECT mean("power_w") AS power_w, mean("soc_pct") AS soc_pct, mean("temp_c") AS temp_c, max("energy_wh") AS energy_wh FROM ${source} WHERE ${where} GROUP BY time(${everyMs}ms) fill(none)`,
      `SELECT max(${q(resolution === 'raw' ? 'power_w' : 'peak_power_w')}) AS peak, mean("power_w") AS mean FROM ${source} WHERE ${where}`,
      // The register's non-negative steps per curve bucket: a reset during the session adds nothing.
      `SELECT sum(step) AS e FROM (SELECT non_negative_difference("energy_wh") AS step FROM ${source} WHERE ${where}) WHERE time >= ${started.t}ms AND time <= ${endMs}ms GROUP BY time(${everyMs}ms) fill(none)`,
      `SELECT "status", "error_code" FROM ${EVENT} WHERE "type" = 'status' AND ${where}`,
      // Speed needs raw samples (docs/metrics.md); past raw retention there is none.
      ...(resolution === 'raw' ? [sessionSpeedStatement({ ...scope, startedAt: started.t }, endMs + 1)] : []),
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
  // Price each bucket's energy at its own local time: a session can cross a tariff boundary.
  const slices = rowsOf(steps).map((r): [number, number] => [r.t, r.values.e ?? 0])
  const registerWh = points.length === 0 ? null : slices.reduce((sum, [, wh]) => sum + wh, 0)
  const energyWh = summary.energy_wh ?? registerWh
  const charging = rowsOf(speed)[0]?.values
  // Priced with the tariff of the session's own site; a site without a site file has no price.
  const site = siteOf(started.site)
  return {
    ...summary,
    energy_wh: energyWh,
    peak_power_w: s.peak ?? null,
    mean_power_w: s.mean ?? null,
    charging_speed_w:
      charging?.e == null || charging.t == null ? null : ratio(charging.e * 3_600_000, charging.t),
    cost: site === undefined || energyWh === null ? null : energyCost(site.tariff, slices, site.timezone),
    curve: points,
    status_events: statusEventsOf(statuses),
  }
}
