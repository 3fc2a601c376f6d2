// Pure display formatting, parameterised by locale and time zone so that a wall screen in the
// operations room and a driver's phone show the same figures in their own language. Power and energy
// keep their SI symbols (kW, kWh) in both languages: that is how Chinese chargers and apps print them.

const EMPTY = '—'
const DEFAULT_LOCALE = 'en-US'

// Intl formatters are costly to build and the dashboard formats the same few shapes every second.
const cache = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>()
function cached<T extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => T): T {
  let format = cache.get(key) as T | undefined
  if (!format) {
    format = make()
    cache.set(key, format)
  }
  return format
}

function numberFormat(locale: string, decimals: number): Intl.NumberFormat {
  return cached(
    `n|${locale}|${decimals}`,
    () => new Intl.NumberFormat(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }),
  )
}

function known(value: number | null | undefined): value is number {
  return value != null && Number.isFinite(value)
}

/** A plain number with `decimals` fixed decimals and the locale's grouping. */
export function formatNumber(
  value: number | null | undefined,
  decimals = 0,
  locale = DEFAULT_LOCALE,
): string {
  return known(value) ? numberFormat(locale, decimals).format(value) : EMPTY
}

/**
 * Watts as kW: one decimal below 100 kW (an AC pile's 6.9 kW matters), none above (a 452.3 kW gun
 * reads better as 452), a bare `0 kW` for no power at all, and an em dash when unknown.
 */
export function formatKw(watts: number | null | undefined, locale = DEFAULT_LOCALE): string {
  if (!known(watts)) return EMPTY
  const kw = watts / 1000
  // Decide on the rounded value, so 99.96 kW shows as "100 kW", not "100.0 kW".
  const oneDecimal = Math.round(kw * 10) / 10
  if (oneDecimal === 0) return '0 kW'
  return `${numberFormat(locale, Math.abs(oneDecimal) < 100 ? 1 : 0).format(kw)} kW`
}

/** Watt-hours as kWh, one decimal below 100 kWh, MWh from 10 MWh on. */
export function formatKwh(wh: number | null | undefined, locale = DEFAULT_LOCALE): string {
  if (!known(wh)) return EMPTY
  const kwh = wh / 1000
  if (Math.abs(kwh) >= 10_000) return `${numberFormat(locale, 1).format(kwh / 1000)} MWh`
  return `${numberFormat(locale, Math.abs(kwh) < 100 ? 1 : 0).format(kwh)} kWh`
}

/** A percentage such as state of charge, rounded to `decimals`: "43%". */
export function formatPercent(pct: number | null | undefined, locale = DEFAULT_LOCALE, decimals = 0): string {
  if (!known(pct)) return EMPTY
  return `${numberFormat(locale, decimals).format(pct)}%`
}

/** A temperature in °C with one decimal: "62.0 °C". */
export function formatCelsius(celsius: number | null | undefined, locale = DEFAULT_LOCALE): string {
  return known(celsius) ? `${numberFormat(locale, 1).format(celsius)} °C` : EMPTY
}

/** A price in yuan per kWh: "¥0.87/kWh" in Chinese, "CN¥0.87/kWh" in English (Intl's own symbols). */
export function formatPricePerKwh(yuan: number | null | undefined, locale = DEFAULT_LOCALE): string {
  if (!known(yuan)) return EMPTY
  const money = cached(
    `c|${locale}`,
    () => new Intl.NumberFormat(locale, { style: 'currency', currency: 'CNY', minimumFractionDigits: 2 }),
  )
  return `${money.format(yuan)}/kWh`
}

/**
 * A duration as the locale says it: "1 hr, 5 min" / "1小时5分钟"; under a minute "45 sec" / "45秒".
 * Seconds are dropped from a minute on: a driver waiting or an engineer scanning sessions reads minutes.
 */
export function formatDuration(seconds: number | null | undefined, locale = DEFAULT_LOCALE): string {
  if (!known(seconds) || seconds < 0) return EMPTY
  const unit = (u: 'hour' | 'minute' | 'second', n: number) =>
    cached(
      `u|${locale}|${u}`,
      () => new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'short' }),
    ).format(n)
  if (seconds < 60) return unit('second', Math.round(seconds))
  const totalMinutes = Math.round(seconds / 60)
  const hours = Math.floor(totalMinutes / 60)
  const minutes = totalMinutes % 60
  if (hours === 0) return unit('minute', minutes)
  const joiner = locale.startsWith('zh') ? '' : ' '
  return minutes === 0 ? unit('hour', hours) : `${unit('hour', hours)}${joiner}${unit('minute', minutes)}`
}

function dateTimeFormat(
  locale: string,
  timeZone: string | undefined,
  kind: string,
  options: Intl.DateTimeFormatOptions,
): Intl.DateTimeFormat {
  return cached(
    `d|${locale}|${timeZone ?? ''}|${kind}`,
    () => new Intl.DateTimeFormat(locale, { ...options, timeZone }),
  )
}

/**
 * UTC milliseconds as a 24-hour "HH:MM:SS" clock time, in `timeZone` (default: the browser's). Every
 * locale gets the same 24-hour clock: it is what both the site's staff and the logs use.
 */
export function formatTime(ts: number | null | undefined, timeZone?: string): string {
  return clock24(ts, timeZone, true)
}

/** "HH:MM" in `timeZone`, for tariff changes and axis labels where seconds are noise. */
export function formatClock(ts: number | null | undefined, timeZone?: string): string {
  return clock24(ts, timeZone, false)
}

function clock24(ts: number | null | undefined, timeZone: string | undefined, seconds: boolean): string {
  if (!known(ts)) return EMPTY
  // hourCycle h23, not hour12: false, which some engines render as "24:05:00" after midnight.
  return dateTimeFormat('en-GB', timeZone, seconds ? 'time' : 'clock', {
    hour: '2-digit',
    minute: '2-digit',
    second: seconds ? '2-digit' : undefined,
    hourCycle: 'h23',
  }).format(ts)
}

/** A short date in the locale's order: "Mar 25" / "3月25日". */
export function formatDay(ts: number | null | undefined, locale = DEFAULT_LOCALE, timeZone?: string): string {
  if (!known(ts)) return EMPTY
  return dateTimeFormat(locale, timeZone, 'day', { month: 'short', day: 'numeric' }).format(ts)
}

/** Date and 24-hour time: "Mar 25, 10:30" / "3月25日 10:30". */
export function formatDateTime(
  ts: number | null | undefined,
  locale = DEFAULT_LOCALE,
  timeZone?: string,
): string {
  if (!known(ts)) return EMPTY
  return dateTimeFormat(locale, timeZone, 'datetime', {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(ts)
}
