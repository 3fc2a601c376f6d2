import {
  MEASUREMENTS,
  SUPERCHARGING_MIN_POWER_W,
  combineMeans,
  conversionEfficiency,
  energyUtilisation,
  ratio,
  type EfficiencyRow,
  type SpeedComparison,
  type UtilisationRow,
  type WeightedMean,
} from '@evmon/contracts'
import type { HistoryRequest } from '../history/history-request.ts'
import { quoteIdentifier } from '../history/influxql.ts'
import { ROLLUP_STEP_MS } from '../history/resolution.ts'
import type { InfluxClient } from '../plugins/influx.ts'
import {
  bucketLabel,
  coveredMs,
  mergeRows,
  registerDeltas,
  rowsOf,
  seriesKey,
  type TaggedRow,
} from './rows.ts'
import { groupBy, whereClause, type Group, type Scope } from './scope.ts'

/** What the API knows about a connector's rating (live description first, site file second). */
export interface Rating {
  maxPowerW: number
  kind: 'dc' | 'ac'
  cooling: 'liquid' | 'air' | null
}
export type RatingOf = (site: string, station: string, connector: number) => Rating | null

export interface AnalyticsRequest {
  req: HistoryRequest
  scope: Scope
  group: Group
  /** When the request was made: time after it is not counted as offline. */
  nowMs: number
  /** The stations' telemetry period: the time one raw sample stands for. */
  sampleIntervalMs: number
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

/** The connector row and the station and site rows it rolls up into. */
function levels(r: TaggedRow, bucket: string | null, withConnector: boolean): Key[] {
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

const fromClause = (a: AnalyticsRequest, measurement: 'station' | 'connector'): string =>
  a.req.sources[measurement]

/**
 * Availability (DESIGN.md: share of time not Faulted, not Unavailable, not offline) counts time, not
 * samples: each sample stands for one sample period (a rollup point for its minute, weighted by its
 * in-service mean), so the periods a station sent nothing — offline, or silent — are unavailable.
 * A connector is counted from its first sample in the range (before it, it may not have existed)
 * to the end of the range or now, whichever is earlier.
 */
function availabilityTime(a: AnalyticsRequest, firstSeen: ReadonlyMap<string, number>) {
  const { req, group } = a
  const stepMs = req.resolution === 'raw' ? a.sampleIntervalMs : ROLLUP_STEP_MS
  // A raw sample reports the period that ends with it; a rollup point the minute that starts with it.
  const leadMs = req.resolution === 'raw' ? stepMs : 0
  const endMs = Math.min(req.toMs, a.nowMs)
  return (r: TaggedRow): { upMs: number; coveredMs: number } => {
    const first = firstSeen.get(seriesKey(r))
    if (first === undefined) return { upMs: 0, coveredMs: 0 }
    const covered = coveredMs(group, r.t, Math.max(req.fromMs, first - leadMs), endMs)
    return { upMs: Math.min((r.values.up ?? 0) * stepMs, covered), coveredMs: covered }
  }
}

/** Occupancy, availability, energy utilisation, energy and sessions per connector, station and site. */
export async function readUtilisation(
  influx: InfluxClient,
  a: AnalyticsRequest,
  ratingOf: RatingOf,
): Promise<UtilisationRow[]> {
  const { req, scope, group } = a
  const where = whereClause(scope, req.fromMs, req.toMs)
  const tags = ['site', 'station', 'connector']
  const q = (f: string) => quoteIdentifier(f)
  const statements = [
    // Split so that InfluxDB reads the columns on both cores. Zero-filled: a bucket in which a
    // connector sent nothing still has a row, so that its time counts against availability.
    `SELECT mean(${q('occupied')}) AS occ, count(${q('occupied')}) AS n, sum(${q('in_service')}) AS up FROM ${fromClause(a, 'connector')} WHERE ${where} ${groupBy(group, tags, req.tz, '0')}`,
    `SELECT min(${q('energy_wh')}) AS e0, max(${q('energy_wh')}) AS e1 FROM ${fromClause(a, 'connector')} WHERE ${where} ${groupBy(group, tags, req.tz)}`,
    // Without a time bucket, first() keeps the time of each connector's first point in the range.
    `SELECT first(${q('in_service')}) AS first FROM ${fromClause(a, 'connector')} WHERE ${where} ${groupBy('none', tags, req.tz)}`,
    `SELECT count(${q('session')}) AS sessions FROM ${q(MEASUREMENTS.event)} WHERE ${q('type')} = 'session_started' AND ${where} ${groupBy(group, tags, req.tz)}`,
  ]
  const [occupancy, energyRange, firsts, sessions] = await queryInParallel(influx, statements)
  const availability = availabilityTime(a, new Map(rowsOf(firsts).map((r) => [seriesKey(r), r.t])))
  type Acc = {
    occ: WeightedMean[]
    upMs: number
    coveredMs: number
    energy: number
    capacityWms: number
    unrated: boolean
    sessions: number
  }
  const init = (): Acc => ({
    occ: [],
    upMs: 0,
    coveredMs: 0,
    energy: 0,
    capacityWms: 0,
    unrated: false,
    sessions: 0,
  })
  const map = new Map<string, { key: Key; acc: Acc }>()
  const sampleRows = mergeRows(rowsOf(occupancy), rowsOf(energyRange))
  const energy = registerDeltas(sampleRows, 'e0', 'e1')
  for (const r of sampleRows) {
    const n = r.values.n ?? 0
    const rating = ratingOf(r.site, r.station, r.connector ?? 0)
    const covered = coveredMs(group, r.t, req.fromMs, req.toMs)
    const { upMs, coveredMs: availableMs } = availability(r)
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true)) {
      const acc = accumulate(map, key, init)
      if (r.values.occ !== null) acc.occ.push({ mean: r.values.occ ?? 0, count: n })
      acc.upMs += upMs
      acc.coveredMs += availableMs
      acc.energy += energy.get(r) ?? 0
      if (rating === null) acc.unrated = true
      else acc.capacityWms += rating.maxPowerW * covered
    }
  }
  for (const r of rowsOf(sessions)) {
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true))
      accumulate(map, key, init).sessions += r.values.sessions ?? 0
  }
  return sorted(map).map(({ key, acc }) => ({
    ...key,
    occupancy: combineMeans(acc.occ),
    availability: ratio(acc.upMs, acc.coveredMs),
    energy_utilisation: acc.unrated ? null : energyUtilisation(acc.energy, 1, acc.capacityWms),
    energy_wh: acc.energy,
    sessions: acc.sessions,
  }))
}

/** Energy, grid energy, efficiency, conversion efficiency and charging speed, plus the speed comparison. */
export async function readEfficiency(
  influx: InfluxClient,
  a: AnalyticsRequest,
  ratingOf: RatingOf,
): Promise<{ rows: EfficiencyRow[]; comparison: SpeedComparison }> {
  const { req, scope, group } = a
  const where = whereClause(scope, req.fromMs, req.toMs)
  const stationWhere = whereClause(scope, req.fromMs, req.toMs, false)
  const connectorTags = ['site', 'station', 'connector']
  const q = (f: string) => quoteIdentifier(f)
  const withStations = scope.connector === undefined
  const statements = [
    `SELECT min(${q('energy_wh')}) AS e0, max(${q('energy_wh')}) AS e1, sum(${q('power_w')}) AS p FROM ${fromClause(a, 'connector')} WHERE ${where} ${groupBy(group, connectorTags, req.tz)}`,
    // Charging speed (DESIGN.md): mean power while it flows between 10% and 80% SoC.
    `SELECT mean(${q('power_w')}) AS speed, count(${q('power_w')}) AS n FROM ${fromClause(a, 'connector')} WHERE ${where} AND ${q('power_w')} > 0 AND ${q('soc_pct')} >= 10 AND ${q('soc_pct')} <= 80 ${groupBy(group, connectorTags, req.tz)}`,
  ]
  if (withStations) {
    statements.push(
      `SELECT min(${q('grid_energy_wh')}) AS g0, max(${q('grid_energy_wh')}) AS g1, sum(${q('grid_power_w')}) AS grid, sum(${q('aux_power_w')}) AS aux FROM ${fromClause(a, 'station')} WHERE ${stationWhere} ${groupBy(group, ['site', 'station'], req.tz)}`,
    )
  }
  const [connectors, speeds, stations] = await queryInParallel(influx, statements)
  type Acc = {
    energy: number
    grid: number | null
    sumPower: number
    sumGrid: number
    sumAux: number
    speed: WeightedMean[]
  }
  const init = (): Acc => ({ energy: 0, grid: null, sumPower: 0, sumGrid: 0, sumAux: 0, speed: [] })
  const map = new Map<string, { key: Key; acc: Acc }>()
  const connectorRows = rowsOf(connectors)
  const energy = registerDeltas(connectorRows, 'e0', 'e1')
  for (const r of connectorRows) {
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true)) {
      const acc = accumulate(map, key, init)
      acc.energy += energy.get(r) ?? 0
      acc.sumPower += r.values.p ?? 0
    }
  }
  const superParts: WeightedMean[] = []
  const traditionalParts: WeightedMean[] = []
  const superNames = new Set<string>()
  const traditionalNames = new Set<string>()
  for (const r of rowsOf(speeds)) {
    const part = { mean: r.values.speed ?? 0, count: r.values.n ?? 0 }
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), true))
      accumulate(map, key, init).speed.push(part)
    const rating = ratingOf(r.site, r.station, r.connector ?? 0)
    const name = `${r.station}/${r.connector}`
    if (rating !== null && rating.kind === 'dc' && rating.maxPowerW >= SUPERCHARGING_MIN_POWER_W) {
      superParts.push(part)
      superNames.add(name)
    } else if (rating !== null && rating.kind === 'dc' && rating.cooling === 'air') {
      traditionalParts.push(part)
      traditionalNames.add(name)
    }
  }
  const stationRows = rowsOf(stations)
  const grid = registerDeltas(stationRows, 'g0', 'g1')
  for (const r of stationRows) {
    for (const key of levels(r, bucketLabel(group, r.t, req.tz), false)) {
      const acc = accumulate(map, key, init)
      acc.grid = (acc.grid ?? 0) + (grid.get(r) ?? 0)
      acc.sumGrid += r.values.grid ?? 0
      acc.sumAux += r.values.aux ?? 0
    }
  }
  const rows = sorted(map).map(({ key, acc }) => {
    const isConnector = key.level === 'connector'
    const gridEnergy = isConnector ? null : acc.grid
    return {
      ...key,
      energy_wh: acc.energy,
      grid_energy_wh: gridEnergy,
      efficiency: gridEnergy === null ? null : ratio(acc.energy, gridEnergy),
      conversion_efficiency:
        isConnector || acc.grid === null ? null : conversionEfficiency(acc.sumPower, acc.sumGrid, acc.sumAux),
      charging_speed_w: combineMeans(acc.speed),
      charging_samples: acc.speed.reduce((n, p) => n + p.count, 0),
    }
  })
  const superW = combineMeans(superParts)
  const traditionalW = combineMeans(traditionalParts)
  return {
    rows,
    comparison: {
      supercharging_w: superW,
      traditional_w: traditionalW,
      ratio: superW === null || traditionalW === null ? null : ratio(superW, traditionalW),
      supercharging: [...superNames].sort(),
      traditional: [...traditionalNames].sort(),
    },
  }
}
