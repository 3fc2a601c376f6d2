import { localParts } from '@evmon/contracts/site'
import type { InfluxStatementResult } from './client.ts'
import type { Group } from './scope.ts'

/** One InfluxDB row with its tags: values by column name. */
export interface TaggedRow {
  site: string
  station: string
  connector: number | null
  t: number
  values: Record<string, number | null>
}

/** A connector's (or, without one, a station's) series. */
export const seriesKey = (r: Pick<TaggedRow, 'site' | 'station' | 'connector'>): string =>
  `${r.site}/${r.station}/${r.connector}`

/** Flattens a statement's series into rows. */
export function rowsOf(result: InfluxStatementResult | undefined): TaggedRow[] {
  const out: TaggedRow[] = []
  for (const series of result?.series ?? []) {
    const tags = series.tags ?? {}
    for (const row of series.values) {
      const values: Record<string, number | null> = {}
      series.columns.forEach((c, i) => {
        if (i > 0) values[c] = typeof row[i] === 'number' ? (row[i] as number) : null
      })
      out.push({
        site: tags.site ?? '',
        station: tags.station ?? '',
        connector: tags.connector === undefined ? null : Number(tags.connector),
        t: row[0] as number,
        values,
      })
    }
  }
  return out
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** The label of a bucket that starts at `t`: local date (day), local hour of day (hour) or null. */
export function bucketLabel(group: Group, t: number, tz: string): string | null {
  if (group === 'none') return null
  const p = localParts(t, tz)
  return group === 'day' ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : pad(p.hour)
}
