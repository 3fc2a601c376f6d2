import { badRequest } from '../errors.ts'

export { EVERY_PATTERN, TIME_PATTERN } from '@evmon/contracts'

/** Bounds of a history request. */
export const historyLimits = {
  defaultRangeMs: 3_600_000, // one hour before `to` when `from` is absent
  maxRangeMs: 731 * 86_400_000, // two years: the retention of the 1-minute rollups
  maxBuckets: 5_000, // per series: enough for any chart, small enough for one answer
  defaultBuckets: 360, // `every` chosen when absent: about one point per two pixels of a chart
} as const

// InfluxDB stores nanoseconds in a signed 64-bit integer: nothing after 2262-04-11 exists.
const MAX_TIME_MS = 9_223_372_036_854

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Widths tried, smallest first, when the client does not choose `every`. */
const DEFAULT_EVERY_LADDER = [
  '1s',
  '5s',
  '10s',
  '30s',
  '1m',
  '5m',
  '10m',
  '30m',
  '1h',
  '3h',
  '6h',
  '12h',
  '1d',
  '7d',
]

/** A validated time window and bucket width. */
export interface HistoryWindow {
  fromMs: number
  toMs: number
  every: string
  everyMs: number
}

// The pattern bounds each part of a date; JavaScript still rolls 2025-02-30 over to March instead of refusing it.
function isCalendarDate(value: string): boolean {
  if (/^\d+$/.test(value)) return true
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day
}

/** Parses a `from` / `to` value that already matched {@link TIME_PATTERN}; `name` is used in the error. */
export function parseTime(value: string, name: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!isCalendarDate(value) || !Number.isFinite(ms)) throw badRequest(`${name} ${value} is not a valid date`)
  if (ms < 0 || ms > MAX_TIME_MS) throw badRequest(`${name} ${value} is outside 1970-01-01 to 2262-04-11`)
  return ms
}

/** Width in milliseconds of an `every` that already matched {@link EVERY_PATTERN}. */
export function parseEvery(every: string): number {
  return Number(every.slice(0, -1)) * UNIT_MS[every.slice(-1) as keyof typeof UNIT_MS]
}

const bucketCount = (rangeMs: number, everyMs: number): number => Math.ceil(rangeMs / everyMs)

/**
 * Resolves the window of a history request: `to` defaults to now and `from` to one hour before `to`.
 * Refuses reversed or empty ranges, ranges over two years, a bucket wider than two years, and a
 * bucket width that would give more than {@link historyLimits.maxBuckets} buckets per series.
 */
export function resolveWindow(
  query: { from?: string; to?: string; every?: string },
  nowMs: number,
  defaultRangeMs: number = historyLimits.defaultRangeMs,
  minEveryMs = 1_000,
): HistoryWindow {
  const from = query.from === undefined ? undefined : parseTime(query.from, 'from')
  const to = query.to === undefined ? undefined : parseTime(query.to, 'to')
  const toMs = to ?? nowMs
  const fromMs = from ?? Math.max(0, toMs - defaultRangeMs)
  if (fromMs >= toMs) throw badRequest(`from (${iso(fromMs)}) must be before to (${iso(toMs)})`)
  const rangeMs = toMs - fromMs
  if (rangeMs > historyLimits.maxRangeMs) {
    throw badRequest(`range of ${Math.ceil(rangeMs / 86_400_000)} days is longer than the 731 allowed`)
  }
  if (query.every === undefined) {
    const every =
      DEFAULT_EVERY_LADDER.find(
        (e) =>
          parseEvery(e) >= minEveryMs && bucketCount(rangeMs, parseEvery(e)) <= historyLimits.defaultBuckets,
      ) ?? (DEFAULT_EVERY_LADDER.at(-1) as string)
    return { fromMs, toMs, every, everyMs: parseEvery(every) }
  }
  const everyMs = parseEvery(query.every)
  // A bucket wider than the longest range is meaningless, and past about 106,000 days its width in
  // nanoseconds no longer fits InfluxDB's 64-bit integer: the query would fail (a 502, not a 400).
  if (everyMs > historyLimits.maxRangeMs) {
    throw badRequest(`every=${query.every} is wider than the 731 days a range may span`)
  }
  if (everyMs < minEveryMs) {
    throw badRequest(`every=${query.every} is finer than the ${minEveryMs / 1000} s this resolution holds`)
  }
  const buckets = bucketCount(rangeMs, everyMs)
  if (buckets > historyLimits.maxBuckets) {
    throw badRequest(
      `every=${query.every} gives ${buckets} buckets over this range, at most ${historyLimits.maxBuckets}: choose a wider every or a shorter range`,
    )
  }
  return { fromMs, toMs, every: query.every, everyMs }
}

const iso = (ms: number): string => new Date(ms).toISOString()
