// Pure display formatting. Numbers use a fixed locale until the i18n issue picks one per user, so a
// wall screen and a phone show the same figures.

const NUMBER_LOCALE = 'en-US'
const EMPTY = '—'

const numberFormats = new Map<number, Intl.NumberFormat>()
function numberFormat(decimals: number): Intl.NumberFormat {
  let format = numberFormats.get(decimals)
  if (!format) {
    format = new Intl.NumberFormat(NUMBER_LOCALE, {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    })
    numberFormats.set(decimals, format)
  }
  return format
}

/**
 * Watts as kW: one decimal below 100 kW (an AC pile's 6.9 kW matters), none above (a 452.3 kW gun
 * reads better as 452), a bare `0 kW` for no power at all, and an em dash when unknown.
 */
export function formatKw(watts: number | null | undefined): string {
  if (watts == null || !Number.isFinite(watts)) return EMPTY
  const kw = watts / 1000
  // Decide on the rounded value, so 99.96 kW shows as "100 kW", not "100.0 kW".
  const oneDecimal = Math.round(kw * 10) / 10
  if (oneDecimal === 0) return '0 kW'
  return `${numberFormat(Math.abs(oneDecimal) < 100 ? 1 : 0).format(kw)} kW`
}

/** A percentage such as state of charge, rounded to a whole number: "43%". */
export function formatPercent(pct: number | null | undefined): string {
  if (pct == null || !Number.isFinite(pct)) return EMPTY
  return `${numberFormat(0).format(pct)}%`
}

const timeFormats = new Map<string, Intl.DateTimeFormat>()

/**
 * UTC milliseconds as a 24-hour "HH:MM:SS" clock time, in `timeZone` (default: the browser's, which
 * for the site's own screens is Asia/Shanghai).
 */
export function formatTime(ts: number | null | undefined, timeZone?: string): string {
  if (ts == null || !Number.isFinite(ts)) return EMPTY
  const key = timeZone ?? ''
  let format = timeFormats.get(key)
  if (!format) {
    // hourCycle h23, not hour12: false, which some engines render as "24:05:00" after midnight.
    format = new Intl.DateTimeFormat('en-GB', {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZone,
    })
    timeFormats.set(key, format)
  }
  return format.format(ts)
}
