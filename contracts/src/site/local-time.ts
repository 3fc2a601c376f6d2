/**
 * The time zone the API buckets by for a site it has no site file for (live data from an undescribed
 * site); a described site's zone is its `timezone`.
 */
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai'

/** Wall-clock position of an instant at the site: what demand and weather depend on. */
export interface LocalTime {
  /** Hour of the day, fractional: 13.5 is half past one in the afternoon. */
  hour: number
  /** Day of the year, 1 on 1 January. */
  dayOfYear: number
  /** Month, 1 for January. */
  month: number
  /** Day of the week, 0 for Sunday. */
  weekday: number
  /** Local calendar day as days since 1970-01-01: a cheap key for holiday lists. */
  day: number
}

const MS_PER_HOUR = 3_600_000
const MS_PER_DAY = 86_400_000
// Every time-zone offset change in the tz database falls on a quarter hour (UTC), so one offset
// lookup serves a whole quarter-hour bucket.
const OFFSET_BUCKET_MS = 900_000

/** Numeric calendar fields in `timeZone`, 24-hour clock, to the minute or to the second. */
function calendarFormat(timeZone: string, withSeconds: boolean): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    ...(withSeconds ? { second: 'numeric' } : {}),
  })
}

/** The fields `format` renders for `ms`, by part type (year, month, …), as numbers. */
function numericParts(format: Intl.DateTimeFormat, ms: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value)
  return out
}

/**
 * Converts UTC milliseconds to the local time of an IANA time zone. Formatting a date with Intl is
 * slow next to one simulation step, so the zone offset is cached per quarter hour.
 */
export function createLocalTime(timeZone: string): (utcMs: number) => LocalTime {
  const format = calendarFormat(timeZone, true)
  let cachedBucket = Number.NaN
  let cachedOffsetMs = 0

  const offsetAt = (utcMs: number): number => {
    const bucket = Math.floor(utcMs / OFFSET_BUCKET_MS)
    if (bucket !== cachedBucket) {
      const probe = bucket * OFFSET_BUCKET_MS
      const parts = numericParts(format, probe)
      const wall = Date.UTC(
        parts.year ?? 1970,
        (parts.month ?? 1) - 1,
        parts.day ?? 1,
        parts.hour ?? 0,
        parts.minute ?? 0,
        parts.second ?? 0,
      )
      cachedBucket = bucket
      cachedOffsetMs = wall - probe
    }
    return cachedOffsetMs
  }

  return (utcMs) => {
    const local = utcMs + offsetAt(utcMs)
    const day = Math.floor(local / MS_PER_DAY)
    const midnight = day * MS_PER_DAY
    const date = new Date(midnight)
    const newYear = Date.UTC(date.getUTCFullYear(), 0, 1)
    return {
      hour: (local - midnight) / MS_PER_HOUR,
      dayOfYear: (midnight - newYear) / MS_PER_DAY + 1,
      month: date.getUTCMonth() + 1,
      // 1970-01-01 was a Thursday.
      weekday: (day + 4) % 7,
      day,
    }
  }
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>()

/** Local calendar fields of `ms` in `timeZone`, to the minute. */
export function localParts(
  ms: number,
  timeZone: string,
): { year: number; month: number; day: number; hour: number; minute: number } {
  let f = partsFormatters.get(timeZone)
  if (f === undefined) {
    f = calendarFormat(timeZone, false)
    partsFormatters.set(timeZone, f)
  }
  return numericParts(f, ms) as { year: number; month: number; day: number; hour: number; minute: number }
}

/** How far wall time in `timeZone` runs ahead of UTC at `ms`, in milliseconds. */
export function zoneOffsetMs(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone)
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - (ms - (((ms % 60_000) + 60_000) % 60_000))
}

/** UTC ms as a `YYYY-MM-DDTHH:mm:ss` wall time in `timeZone` (the form of a datetime-local input). */
export function toWallTime(ms: number, timeZone: string): string {
  return new Date(ms + zoneOffsetMs(ms, timeZone)).toISOString().slice(0, 19)
}

/**
 * A wall time in `timeZone` (`YYYY-MM-DD`, `…THH:mm` or `…THH:mm:ss`, no offset) as UTC ms; NaN when it
 * does not parse. The offset is taken at the instant itself, re-checked once for a change in between.
 */
export function fromWallTime(wall: string, timeZone: string): number {
  const asUtc = Date.parse(
    wall.length === 10 ? `${wall}T00:00:00Z` : `${wall.length === 16 ? `${wall}:00` : wall}Z`,
  )
  if (Number.isNaN(asUtc)) return Number.NaN
  const guess = asUtc - zoneOffsetMs(asUtc, timeZone)
  return asUtc - zoneOffsetMs(guess, timeZone)
}
