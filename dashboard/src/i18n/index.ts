import { computed, type ComputedRef } from 'vue'
import * as format from '../format.ts'
import { locale, type Locale } from '../prefs.ts'
import { siteTimeZone } from '../stores/site.ts'
import { MESSAGES, type MessageKey } from './messages.ts'

// A small typed catalogue instead of vue-i18n: two languages, no plurals beyond what `{n}` covers, and
// a missing translation is a compile error rather than a key on screen.

export type { MessageKey } from './messages.ts'
export type Params = Readonly<Record<string, string | number>>

/** BCP 47 tag for Intl: plain `en` would leave number and date details to the engine. */
export function intlLocale(value: Locale): string {
  return value === 'en' ? 'en-US' : 'zh-CN'
}

/** The message for `key` in `lang`, with each `{name}` replaced by its parameter. */
export function translate(lang: Locale, key: MessageKey, params?: Params): string {
  const text = MESSAGES[lang][key]
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole))
}

/** Formatters bound to a locale and the site's time zone (every time on screen is the site's wall-clock time). */
export function formatters(lang: Locale) {
  const tag = intlLocale(lang)
  return {
    kw: (w: number | null | undefined) => format.formatKw(w, tag),
    kwh: (wh: number | null | undefined) => format.formatKwh(wh, tag),
    pct: (p: number | null | undefined, decimals = 0) => format.formatPercent(p, tag, decimals),
    num: (n: number | null | undefined, decimals = 0) => format.formatNumber(n, decimals, tag),
    celsius: (c: number | null | undefined) => format.formatCelsius(c, tag),
    price: (yuan: number | null | undefined) => format.formatPricePerKwh(yuan, tag),
    duration: (s: number | null | undefined) => format.formatDuration(s, tag),
    time: (ts: number | null | undefined) => format.formatTime(ts, siteTimeZone.value),
    clock: (ts: number | null | undefined) => format.formatClock(ts, siteTimeZone.value),
    day: (ts: number | null | undefined) => format.formatDay(ts, tag, siteTimeZone.value),
    dateTime: (ts: number | null | undefined) => format.formatDateTime(ts, tag, siteTimeZone.value),
  }
}
export type Formatters = ReturnType<typeof formatters>

const bound = computed(() => formatters(locale.value))

export interface I18n {
  locale: typeof locale
  t: (key: MessageKey, params?: Params) => string
  /** Formatters for the current locale; read inside a render or computed to follow language changes. */
  f: ComputedRef<Formatters>
}

/** The current language, its messages and formatters; switching `locale` re-renders every user. */
export function useI18n(): I18n {
  return { locale, t: (key, params) => translate(locale.value, key, params), f: bound }
}
