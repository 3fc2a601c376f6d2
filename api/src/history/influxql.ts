import { MEASUREMENTS, assertId } from '@evmon/contracts'
import type { FieldSelection } from './history-fields.ts'

// Route schemas already restrict every user-supplied value (ids to the id pattern, fields to known
// names, times to integers); quoting and the checks below keep this module safe on its own.

/** Quotes an identifier (measurement, tag or field key) for InfluxQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** Quotes a string literal for InfluxQL. */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

export function assertMs(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${what} ${value} is not a non-negative integer`)
  return value
}

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

/** `tz('…')` for a GROUP BY time(); the zone has been checked by the route. */
export const tzClause = (tz: string | undefined): string =>
  tz === undefined ? '' : ` tz(${quoteString(tz)})`

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
