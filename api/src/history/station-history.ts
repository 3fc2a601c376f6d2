import { MEASUREMENTS } from '@evmon/contracts'
import type { InfluxClient, InfluxSeries } from '../plugins/influx.ts'
import { buildHistoryQuery, buildStationSitesQuery, type HistoryQuery } from './influxql.ts'

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
