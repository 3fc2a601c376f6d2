import { localParts } from '@evmon/contracts'
import type { InfluxStatementResult } from '../plugins/influx.ts'
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
export const seriesKey = (r: TaggedRow): string => `${r.site}/${r.station}/${r.connector}`

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

/** Length of the part of a bucket that lies within [fromMs, toMs), ms. */
export function coveredMs(group: Group, t: number, fromMs: number, toMs: number): number {
  if (group === 'none') return Math.max(0, toMs - fromMs)
  const width = group === 'day' ? 86_400_000 : 3_600_000
  return Math.max(0, Math.min(t + width, toMs) - Math.max(t, fromMs))
}

/**
 * Energy per bucket from the lowest and highest register reading of each bucket (registers never go
 * back, so these are its first and last): the last reading of the previous bucket is the start of
 * the next, so buckets add up to the whole range's Δ register.
 */
export function registerDeltas(
  rows: readonly TaggedRow[],
  first: string,
  last: string,
): Map<TaggedRow, number> {
  const out = new Map<TaggedRow, number>()
  const previous = new Map<string, number>()
  for (const r of [...rows].sort((a, b) => a.t - b.t)) {
    const key = seriesKey(r)
    const start = previous.get(key) ?? r.values[first] ?? null
    const end = r.values[last] ?? null
    if (start !== null && end !== null) {
      out.set(r, Math.max(0, end - start))
      previous.set(key, end)
    }
  }
  return out
}

/** Joins rows of statements that split one query's columns (same tags and bucket) into one row each. */
export function mergeRows(...parts: ReadonlyArray<readonly TaggedRow[]>): TaggedRow[] {
  const byKey = new Map<string, TaggedRow>()
  for (const rows of parts) {
    for (const r of rows) {
      const key = `${r.site}/${r.station}/${r.connector}/${r.t}`
      const existing = byKey.get(key)
      if (existing === undefined) byKey.set(key, { ...r, values: { ...r.values } })
      else Object.assign(existing.values, r.values)
    }
  }
  return [...byKey.values()]
}
