import {
  CONNECTOR_STATUSES,
  MEASUREMENTS,
  SUPERCHARGING_MIN_POWER_W,
  conversionEfficiency,
  energyUtilisation,
  ratio,
  stationCapacityW,
  uptime,
  type ConnectorStatus,
  type EfficiencyRow,
  type ExcludedWindow,
  type SpeedComparison,
  type UtilisationRow,
} from '@evmon/contracts'
import type { HistoryRequest } from '../history/history-request.ts'
import { quoteIdentifier } from '../influx/influxql.ts'
import type { InfluxClient, InfluxStatementResult } from '../influx/client.ts'
import { bucketLabel, rowsOf, seriesKey, type TaggedRow } from '../influx/rows.ts'
import { beforeClause, groupBy, whereClause, type Group, type Scope } from '../influx/scope.ts'
import {
  compareSpeeds,
  readSessionSpeeds,
  speedOf,
  type CarModel,
  type SessionSpeed,
  type SessionSpeedCache,
} from './speed.ts'
import {
  addStateTime,
  buckets,
  connectorStateTime,
  mergeWindows,
  zeroStateTime,
  type ConnectorHistory,
  type OnlineChange,
  type StateTime,
  type StatusChange,
} from './timeline.ts'

/** What the API knows about a station's ratings (live description first, site file second). */
export interface StationRating {
  /** Null when unknown: the DC capacity is then the sum of the DC guns. */
  cabinetMaxPowerW: number | null
  cooling: 'liquid' | 'air' | null
  connectors: ReadonlyArray<{ id: number; kind: 'dc' | 'ac'; maxPowerW: number }>
}
export type StationRatingOf = (site: string, station: string) => StationRating | null
/** The car model and voltage class behind a session's `vehicle`, from the site's vehicle list. */
export type CarOf = (site: string, vehicle: string) => CarModel | null

export interface AnalyticsRequest {
  req: HistoryRequest
  scope: Scope
  group: Group
  /** When the request was made: time after it is not counted. */
  nowMs: number
  /** Outage inside these windows does not count against uptime. */
  excluded: readonly ExcludedWindow[]
}

type Level = 'connector' | 'station' | 'site'
interface Key {
  level: Level
  site: string
  station: string | null
  connector: number | null
  bucket: string | null
}
const keyText = (k: Key): string => `${k.level}|${k.site}|${k.station}|${k.connector}|${k.bucket}`

/** A connector (or station) and the bucket a figure belongs to. */
interface At {
  site: string
  station: string
  connector: number | null
}

/** The connector row and the station and site rows it rolls up into. */
function levels(r: At, bucket: string | null, withConnector: boolean): Key[] {
  const keys: Key[] = [
    { level: 'station', site: r.site, station: r.station, connector: null, bucket },
    { level: 'site', site: r.site, station: null, connector: null, bucket },
  ]
  if (withConnector)
    keys.unshift({ level: 'connector', site: r.site, station: r.station, connector: r.connector, bucket })
  return keys
}

function accumulate<A>(map: Map<string, { key: Key; acc: A }>, key: Key, init: () => A): A {
  const text = keyText(key)
  let entry = map.get(text)
  if (entry === undefined) {
    entry = { key, acc: init() }
    map.set(text, entry)
  }
  return entry.acc
}

const levelOrder: Record<Level, number> = { connector: 0, station: 1, site: 2 }
function sorted<A>(map: Map<string, { key: Key; acc: A }>): Array<{ key: Key; acc: A }> {
  return [...map.values()].sort(
    (a, b) =>
      levelOrder[a.key.level] - levelOrder[b.key.level] ||
      keyText(a.key).localeCompare(keyText(b.key), 'en', { numeric: true }),
  )
}

/**
 * One HTTP request per statement: InfluxDB 1.x runs the statements of one request one after the
 * other, separate requests on separate cores, which is what keeps a 30-day range fast.
 */
async function queryInParallel(influx: InfluxClient, statements: readonly string[]) {
  return (await Promise.all(statements.map((s) => influx.query(s)))).map((r) => r[0])
}

const q = (f: string) => quoteIdentifier(f)
const CONNECTOR_TAGS = ['site', 'station', 'connector']

/**
 * Energy per bucket as the sum of a register's non-negative steps: a register that goes back (a meter
 * reset) adds nothing instead of booking its whole pre-reset reading. A step belongs to the bucket of
 * its later reading, so buckets add up to the window.
 *
 * Summing every step is slow over a day of 1 s samples, so it is done only where needed. A bucket whose
 * first reading is its lowest and whose last is its highest has no drop inside: its steps sum to last −
 * first. The step into a bucket is from the previous bucket's last reading. Only a bucket with a drop
 * inside (rare: a reset) has its steps summed one by one. On rollups the readings are each minute's
 * highest: exact except in the minute of a reset, where the energy from the reset to the next minute's
 * end is not seen.
 */
async function registerEnergy(
  influx: InfluxClient,
  a: AnalyticsRequest,
  source: string,
  field: string,
  tags: readonly string[],
  scope: Scope,
): Promise<Array<{ row: TaggedRow; label: string | null; wh: number }>> {
  const { req, group } = a
  const withConnector = tags.includes('connector')
  const where = whereClause(scope, req.fromMs, req.toMs, withConnector)
  const [result] = await influx.query(
    `SELECT first(${q(field)}) AS f, last(${q(field)}) AS l, min(${q(field)}) AS lo, max(${q(field)}) AS hi FROM ${source} WHERE ${where} ${groupBy(group, tags, req.tz)}`,
  )
  const rows = rowsOf(result).sort((x, y) => x.t - y.t)
  const bucketList = buckets(group, req.fromMs, req.toMs, req.tz)
  const out: Array<{ row: TaggedRow; label: string | null; wh: number }> = []
  const previous = new Map<string, number>()
  const drops: Array<{ index: number; from: number; to: number; row: TaggedRow }> = []
  for (const row of rows) {
    const { f, l, lo, hi } = row.values
    if (f == null || l == null || lo == null || hi == null) continue
    const key = seriesKey(row)
    const before = previous.get(key)
    previous.set(key, l)
    const into = before === undefined ? 0 : Math.max(0, f - before)
    out.push({ row, label: bucketLabel(group, row.t, req.tz), wh: into + (f === lo && l === hi ? l - f : 0) })
    if (f !== lo || l !== hi) {
      const start = Math.max(row.t, req.fromMs)
      const bucket = bucketList.find((b) => b.from <= start && start < b.to)
      drops.push({ index: out.length - 1, from: start, to: bucket?.to ?? req.toMs, row })
    }
  }
  if (drops.length > 0) {
    const answers = await influx.query(
      drops
        .map((d) => {
          const one = {
            site: d.row.site,
            station: d.row.station,
            ...(d.row.connector !== null && { connector: d.row.connector }),
          }
          return `SELECT sum(step) AS e FROM (SELECT non_negative_difference(${q(field)}) AS step FROM ${source} WHERE ${whereClause(one, d.from, d.to, withConnector)})`
        })
        .join('; '),
    )
    drops.forEach((d, i) => {
      const entry = out[d.index]
      if (entry !== undefined) entry.wh += rowsOf(answers[i])[0]?.values.e ?? 0
    })
  }
  return out
}

type Known = { before: ConnectorStatus | null; changes: StatusChange[]; firstSample: StatusChange | null }
const isStatus = (v: unknown): v is ConnectorStatus => (CONNECTOR_STATUSES as readonly unknown[]).includes(v)

/** Status and online history of every connector and station in scope around the window. */
async function readHistories(influx: InfluxClient, a: AnalyticsRequest) {
  const { req, scope } = a
  const event = q(MEASUREMENTS.event)
  const status = `${q('type')} = 'status'`
  const tags = groupBy('none', CONNECTOR_TAGS, req.tz)
  const stationTags = groupBy('none', ['site', 'station'], req.tz)
  const [before, changes, firsts, onlineBefore, onlineChanges] = await queryInParallel(influx, [
    `SELECT last(${q('status')}) AS status FROM ${event} WHERE ${status} AND ${beforeClause(scope, req.fromMs)} ${tags}`,
    `SELECT ${q('status')} FROM ${event} WHERE ${status} AND ${whereClause(scope, req.fromMs, req.toMs)} ${tags}`,
    // Without a time bucket, first() keeps the time of each connector's first sample in the window.
    `SELECT first(${q('status')}) AS status FROM ${q(MEASUREMENTS.connector)} WHERE ${whereClause(scope, req.fromMs, req.toMs)} ${tags}`,
    `SELECT last(${q('online')}) AS online FROM ${q(MEASUREMENTS.station)} WHERE ${beforeClause(scope, req.fromMs, false)} ${stationTags}`,
    `SELECT ${q('online')} FROM ${q(MEASUREMENTS.station)} WHERE ${whereClause(scope, req.fromMs, req.toMs, false)} ${stationTags}`,
  ])
  // InfluxDB answers each series in time order, so the changes arrive sorted.
  const connectors = new Map<string, Known & At>()
  const connector = (site: string, station: string, id: number) => {
    const key = `${site}/${station}/${id}`
    let c = connectors.get(key)
    if (c === undefined) {
      c = { site, station, connector: id, before: null, changes: [], firstSample: null }
      connectors.set(key, c)
    }
    return c
  }
  const statuses = (
    result: InfluxStatementResult | undefined,
    each: (c: Known & At, t: number, s: ConnectorStatus) => void,
  ) => {
    for (const series of result?.series ?? []) {
      const { site = '', station = '', connector: id } = series.tags ?? {}
      for (const row of series.values) {
        if (isStatus(row[1])) each(connector(site, station, Number(id)), row[0] as number, row[1])
      }
    }
  }
  statuses(before, (c, _t, s) => (c.before = s))
  statuses(changes, (c, t, s) => c.changes.push({ t, status: s }))
  statuses(firsts, (c, t, s) => (c.firstSample = { t, status: s }))
  const stations = new Map<string, { before: boolean | null; changes: OnlineChange[] }>()
  const station = (site: string, id: string) => {
    let s = stations.get(`${site}/${id}`)
    if (s === undefined) {
      s = { before: null, changes: [] }
      stations.set(`${site}/${id}`, s)
    }
    return s
  }
  for (const r of rowsOf(onlineBefore)) station(r.site, r.station).before = r.values.online === 1
  for (const r of rowsOf(onlineChanges)) {
    if (r.values.online !== null && r.values.online !== undefined)
      station(r.site, r.station).changes.push({
        t: r.t,
        online: r.values.online === 1,
      })
  }
  return { connectors, stations }
}

/** Occupancy, time utilisation, uptime, energy utilisation, energy and sessions per connector, station and site. */
export async function readUtilisation(
  influx: InfluxClient,
  a: AnalyticsRequest,
  ratingOf: StationRatingOf,
): Promise<UtilisationRow[]> {
  const { req, scope, group } = a
  const endMs = Math.max(req.fromMs, Math.min(req.toMs, a.nowMs))
  const where = whereClause(scope, req.fromMs, req.toMs)
  const [energy, [sessions], histories] = await Promise.all([
    registerEnergy(influx, a, req.sources.connector, 'energy_wh', CONNECTOR_TAGS, scope),
    influx.query(
      `SELECT count(${q('session')}) AS sessions FROM ${q(MEASUREMENTS.event)} WHERE ${q('type')} = 'session_started' AND ${where} ${groupBy(group, CONNECTOR_TAGS, req.tz)}`,
    ),
    readHistories(influx, a),
  ])
  const bucketList = buckets(group, req.fromMs, endMs, req.tz)
  // A window naming a site (and station) applies to its connectors only.
  const excludedFor = (c: At) =>
    mergeWindows(
      a.excluded.filter(
        (w) =>
          (w.site === undefined || w.site === c.site) && (w.station === undefined || w.station === c.station),
      ),
    )

  type Acc = { time: StateTime; energy: { dc: number; ac: number }; sessions: number }
  const init = (): Acc => ({ time: zeroStateTime(), energy: { dc: 0, ac: 0 }, sessions: 0 })
  const map = new Map<string, { key: Key; acc: Acc }>()
  const kindOf = (r: At): 'dc' | 'ac' | null =>
    ratingOf(r.site, r.station)?.connectors.find((c) => c.id === r.connector)?.kind ?? null

  // Every connector and bucket gets a row, with or without energy: its time still counts.
  const seen = new Map<string, At>()
  for (const c of histories.connectors.values()) seen.set(seriesKey(c), c)
  for (const { row } of energy) seen.set(seriesKey(row), row)
  for (const c of seen.values()) {
    const history: ConnectorHistory = histories.connectors.get(seriesKey(c)) ?? {
      before: null,
      changes: [],
      firstSample: null,
    }
    const station = histories.stations.get(`${c.site}/${c.station}`) ?? { before: null, changes: [] }
    const times = connectorStateTime(history, station, req.fromMs, endMs, bucketList, excludedFor(c))
    bucketList.forEach((b, i) => {
      for (const key of levels(c, b.label, true))
        addStateTime(accumulate(map, key, init).time, times[i] as StateTime)
    })
  }
  for (const { row, label, wh } of energy) {
    const kind = kindOf(row) ?? 'dc'
    for (const key of levels(row, label, true)) accumulate(map, key, init).energy[kind] += wh
  }
  for (const r of rowsOf(sessions)) {
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true))
      accumulate(map, key, init).sessions += r.values.sessions ?? 0
  }

  // Capacity × time: a connector its rating, a station min(cabinet, Σ DC guns) and Σ AC piles, a site
  // the sum of its stations. Unrated connectors or stations leave the figure null.
  const bucketMs = new Map<string | null, number>()
  for (const b of bucketList) bucketMs.set(b.label, (bucketMs.get(b.label) ?? 0) + b.to - b.from)
  const stationsSeen = new Map<string, At>()
  for (const c of seen.values()) stationsSeen.set(`${c.site}/${c.station}`, { ...c, connector: null })
  const capacity = new Map<string, { dc: number | null; ac: number | null; unrated: boolean }>()
  const addCapacity = (key: Key, w: { dc: number | null; ac: number | null } | null, ms: number) => {
    const text = keyText(key)
    const cap = capacity.get(text) ?? { dc: null, ac: null, unrated: false }
    if (w === null) cap.unrated = true
    else {
      if (w.dc !== null) cap.dc = (cap.dc ?? 0) + w.dc * ms
      if (w.ac !== null) cap.ac = (cap.ac ?? 0) + w.ac * ms
    }
    capacity.set(text, cap)
  }
  for (const [label, ms] of bucketMs) {
    for (const s of stationsSeen.values()) {
      const rating = ratingOf(s.site, s.station)
      const station = rating === null ? null : stationCapacityW(rating.cabinetMaxPowerW, rating.connectors)
      for (const key of levels(s, label, false)) addCapacity(key, station, ms)
    }
    for (const c of seen.values()) {
      const gun = ratingOf(c.site, c.station)?.connectors.find((g) => g.id === c.connector)
      addCapacity(
        levels(c, label, true)[0] as Key,
        gun === undefined ? null : stationCapacityW(null, [gun]),
        ms,
      )
    }
  }
  const utilisation = (energyWh: number, capacityWms: number | null | undefined, unrated: boolean) =>
    unrated || capacityWms === null || capacityWms === undefined
      ? null
      : energyUtilisation(energyWh, 1, capacityWms)

  return sorted(map).map(({ key, acc }) => {
    const cap = capacity.get(keyText(key)) ?? { dc: null, ac: null, unrated: true }
    const { time } = acc
    return {
      ...key,
      occupancy: ratio(time.occupiedMs, time.periodMs),
      time_utilisation: ratio(time.chargingMs, time.periodMs),
      availability: uptime(time.periodMs, time.outageMs, time.excludedMs),
      period_s: time.periodMs / 1000,
      outage_s: time.outageMs / 1000,
      excluded_s: time.excludedMs / 1000,
      energy_utilisation_dc: utilisation(acc.energy.dc, cap.dc, cap.unrated),
      energy_utilisation_ac: utilisation(acc.energy.ac, cap.ac, cap.unrated),
      energy_wh: acc.energy.dc + acc.energy.ac,
      sessions: acc.sessions,
    }
  })
}

/** Energy, grid energy, efficiency, conversion efficiency and charging speed, plus the speed comparison. */
export async function readEfficiency(
  influx: InfluxClient,
  a: AnalyticsRequest,
  ratingOf: StationRatingOf,
  carOf: CarOf,
  speedCache: SessionSpeedCache,
): Promise<{ rows: EfficiencyRow[]; comparison: SpeedComparison }> {
  const { req, scope, group } = a
  const where = whereClause(scope, req.fromMs, req.toMs)
  const stationWhere = whereClause(scope, req.fromMs, req.toMs, false)
  const withStations = scope.connector === undefined
  const statements = [
    `SELECT sum(${q('power_w')}) AS p FROM ${req.sources.connector} WHERE ${where} ${groupBy(group, CONNECTOR_TAGS, req.tz)}`,
  ]
  if (withStations) {
    statements.push(
      `SELECT sum(${q('grid_power_w')}) AS grid, sum(${q('aux_power_w')}) AS aux FROM ${req.sources.station} WHERE ${stationWhere} ${groupBy(group, ['site', 'station'], req.tz)}`,
    )
  }
  const [energy, gridEnergy, [power, gridPower]] = await Promise.all([
    registerEnergy(influx, a, req.sources.connector, 'energy_wh', CONNECTOR_TAGS, scope),
    withStations
      ? registerEnergy(influx, a, req.sources.station, 'grid_energy_wh', ['site', 'station'], scope)
      : [],
    queryInParallel(influx, statements),
  ])
  // Afterwards, not alongside: its many small statements would slow the scans above on a busy InfluxDB.
  const speeds = await readSessionSpeeds(
    influx,
    scope,
    { fromMs: req.fromMs, toMs: req.toMs, nowMs: a.nowMs },
    (s) => ratingOf(s.site, s.station)?.connectors.find((c) => c.id === s.connector)?.kind === 'dc',
    speedCache,
  )
  type Acc = {
    energy: number
    grid: number | null
    sumPower: number
    sumGrid: number
    sumAux: number
    speeds: SessionSpeed[]
  }
  const init = (): Acc => ({ energy: 0, grid: null, sumPower: 0, sumGrid: 0, sumAux: 0, speeds: [] })
  const map = new Map<string, { key: Key; acc: Acc }>()
  for (const { row, label, wh } of energy)
    for (const key of levels(row, label, true)) accumulate(map, key, init).energy += wh
  for (const r of rowsOf(power))
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true))
      accumulate(map, key, init).sumPower += r.values.p ?? 0
  for (const { row, label, wh } of gridEnergy) {
    for (const key of levels(row, label, false)) {
      const acc = accumulate(map, key, init)
      acc.grid = (acc.grid ?? 0) + wh
    }
  }
  for (const r of rowsOf(gridPower)) {
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), false)) {
      const acc = accumulate(map, key, init)
      acc.sumGrid += r.values.grid ?? 0
      acc.sumAux += r.values.aux ?? 0
    }
  }
  for (const s of speeds)
    for (const key of levels(s, bucketLabel(group, s.startedAt, req.tz), true))
      accumulate(map, key, init).speeds.push(s)
  const rows = sorted(map).map(({ key, acc }) => {
    const isConnector = key.level === 'connector'
    const grid = isConnector ? null : acc.grid
    const speed = speedOf(acc.speeds)
    return {
      ...key,
      energy_wh: acc.energy,
      grid_energy_wh: grid,
      efficiency: grid === null ? null : ratio(acc.energy, grid),
      conversion_efficiency:
        isConnector || acc.grid === null ? null : conversionEfficiency(acc.sumPower, acc.sumGrid, acc.sumAux),
      charging_speed_w: speed.speedW,
      speed_sessions: speed.sessions,
    }
  })
  const comparison = compareSpeeds(
    speeds,
    (s) => {
      const rating = ratingOf(s.site, s.station)
      const gun = rating?.connectors.find((c) => c.id === s.connector)
      if (rating === null || rating === undefined || gun === undefined || gun.kind !== 'dc') return null
      if (gun.maxPowerW >= SUPERCHARGING_MIN_POWER_W) return 'supercharging'
      return rating.cooling === 'air' ? 'traditional' : null
    },
    (s) => (s.vehicle === null ? null : carOf(s.site, s.vehicle)),
  )
  return { rows, comparison }
}
