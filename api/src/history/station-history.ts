import { MEASUREMENTS, assertId } from '@evmon/contracts'
import type { InfluxClient, InfluxSeries } from '../influx/client.ts'
import { assertMs, quoteIdentifier, quoteString, tzClause } from '../influx/influxql.ts'
import type { FieldSelection } from './history-fields.ts'

/** What to read for one station. */
export interface HistoryQuery {
  site: string
  station: string
  fromMs: number
  toMs: number
  everyMs: number
  fields: FieldSelection
  /** Quoted, possibly policy-qualified measurements (see `sourcesOf`); default: raw. */
  sources?: { station: string; connector: string }
  /** Time zone of the buckets; matters for days (and zones with odd offsets). */
  tz?: string
}

/** Statements joined with `;`, and which measurement each one reads, in order. */
export interface BuiltQuery {
  text: string
  measurements: Array<typeof MEASUREMENTS.station | typeof MEASUREMENTS.connector>
}

const means = (fields: readonly string[]): string =>
  fields.map((f) => `mean(${quoteIdentifier(f)}) AS ${quoteIdentifier(f)}`).join(', ')

/**
 * Builds the bucketed history of one station: mean of each field per `everyMs` bucket over
 * [fromMs, toMs), the station measurement as one series and the connector measurement as one series
 * per connector. Empty buckets are left out (`fill(none)`).
 */
export function buildHistoryQuery(q: HistoryQuery): BuiltQuery {
  const where = [
    `${quoteIdentifier('site')} = ${quoteString(assertId(q.site, 'site'))}`,
    `${quoteIdentifier('station')} = ${quoteString(assertId(q.station, 'station'))}`,
    `time >= ${assertMs(q.fromMs, 'from')}ms`,
    `time < ${assertMs(q.toMs, 'to')}ms`,
  ].join(' AND ')
  const bucket = `time(${assertMs(q.everyMs, 'every')}ms)`
  const stationFrom = q.sources?.station ?? quoteIdentifier(MEASUREMENTS.station)
  const connectorFrom = q.sources?.connector ?? quoteIdentifier(MEASUREMENTS.connector)
  const tz = tzClause(q.tz)
  const statements: string[] = []
  const measurements: BuiltQuery['measurements'] = []
  if (q.fields.station.length > 0) {
    statements.push(
      `SELECT ${means(q.fields.station)} FROM ${stationFrom} WHERE ${where} GROUP BY ${bucket} fill(none)${tz}`,
    )
    measurements.push(MEASUREMENTS.station)
  }
  if (q.fields.connector.length > 0) {
    statements.push(
      `SELECT ${means(q.fields.connector)} FROM ${connectorFrom} WHERE ${where} GROUP BY ${bucket}, ${quoteIdentifier('connector')} fill(none)${tz}`,
    )
    measurements.push(MEASUREMENTS.connector)
  }
  return { text: statements.join('; '), measurements }
}

/** Lists the sites at which a station id has history. */
export function buildStationSitesQuery(station: string): string {
  return `SHOW TAG VALUES FROM ${quoteIdentifier(MEASUREMENTS.station)} WITH KEY = ${quoteIdentifier('site')} WHERE ${quoteIdentifier('station')} = ${quoteString(assertId(station, 'station'))}`
}

/** One bucket: its start time (UTC ms) and the mean of each field, `null` when the bucket had none. */
export type HistoryPoint = { t: number } & Record<string, number | null>

/** Bucketed series of one station: the station's own, and one per connector id. */
export interface HistorySeries {
  station: HistoryPoint[]
  connectors: Record<string, HistoryPoint[]>
}

function toPoints(series: InfluxSeries): HistoryPoint[] {
  const names = series.columns.slice(1)
  return series.values.map((row) => {
    const point: HistoryPoint = { t: row[0] as number }
    names.forEach((name, i) => {
      const value = row[i + 1]
      point[name] = typeof value === 'number' ? value : null
    })
    return point
  })
}

/** Reads the bucketed history of one station from InfluxDB in one round trip. */
export async function readStationHistory(influx: InfluxClient, query: HistoryQuery): Promise<HistorySeries> {
  const built = buildHistoryQuery(query)
  const results = await influx.query(built.text)
  const out: HistorySeries = { station: [], connectors: {} }
  built.measurements.forEach((measurement, i) => {
    for (const series of results[i]?.series ?? []) {
      if (measurement === MEASUREMENTS.station) out.station = toPoints(series)
      else out.connectors[series.tags?.connector ?? '?'] = toPoints(series)
    }
  })
  return out
}

/** Sites at which InfluxDB holds history for a station id. */
export async function readStationSites(influx: InfluxClient, station: string): Promise<string[]> {
  const [result] = await influx.query(buildStationSitesQuery(station))
  return (result?.series ?? []).flatMap((s) => s.values.map((row) => String(row[1])))
}
