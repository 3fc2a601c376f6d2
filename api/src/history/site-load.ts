import type { InfluxClient } from '../influx/client.ts'
import { quoteIdentifier, tzClause } from '../influx/influxql.ts'
import { rowsOf } from '../influx/rows.ts'
import { whereClause } from '../influx/scope.ts'
import type { HistoryRequest } from './history-request.ts'

/** One bucket of a site's load: Σ of its stations' mean grid power, and of their peaks. */
export interface SiteLoadPoint {
  t: number
  power_w: number
  peak_w: number | null
}

/** A site's grid power per bucket, and each station's own series. */
export async function readSiteLoad(
  influx: InfluxClient,
  site: string,
  req: HistoryRequest,
): Promise<{ points: SiteLoadPoint[]; stations: Record<string, Array<{ t: number; power_w: number }>> }> {
  const peak = req.resolution === 'raw' ? 'grid_power_w' : 'peak_grid_power_w'
  const [result] = await influx.query(
    `SELECT mean("grid_power_w") AS p, max(${quoteIdentifier(peak)}) AS peak FROM ${req.sources.station} WHERE ${whereClause({ site }, req.fromMs, req.toMs)} GROUP BY time(${req.everyMs}ms), "station" fill(none)${tzClause(req.tz)}`,
  )
  const buckets = new Map<number, SiteLoadPoint>()
  const stations: Record<string, Array<{ t: number; power_w: number }>> = {}
  for (const r of rowsOf(result)) {
    const p = r.values.p ?? 0
    ;(stations[r.station] ??= []).push({ t: r.t, power_w: p })
    const b = buckets.get(r.t) ?? { t: r.t, power_w: 0, peak_w: null }
    b.power_w += p
    // Σ of the stations' peaks: an upper bound of the site's coincident peak in the bucket.
    if (r.values.peak !== null && r.values.peak !== undefined) b.peak_w = (b.peak_w ?? 0) + r.values.peak
    buckets.set(r.t, b)
  }
  return { points: [...buckets.values()].sort((a, b) => a.t - b.t), stations }
}
