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

/**
 * Converts UTC milliseconds to the local time of an IANA time zone. Formatting a date with Intl is
 * slow next to one simulation step, so the zone offset is cached per quarter hour.
 */
export function createLocalTime(timeZone: string): (utcMs: number) => LocalTime {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  })
  let cachedBucket = Number.NaN
  let cachedOffsetMs = 0

  const offsetAt = (utcMs: number): number => {
    const bucket = Math.floor(utcMs / OFFSET_BUCKET_MS)
    if (bucket !== cachedBucket) {
      const probe = bucket * OFFSET_BUCKET_MS
      const parts: Record<string, number> = {}
      for (const part of format.formatToParts(probe)) parts[part.type] = Number(part.value)
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
