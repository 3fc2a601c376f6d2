import { ref, watch, type Ref } from 'vue'
import type { Locale } from './i18n/messages.ts'
import { readStored, writeStored } from './storage.ts'

// The viewer's choices of language and theme, kept in localStorage so that a wall screen comes back
// the way it was set up after a power cut.

export type { Locale } from './i18n/messages.ts'
export type Theme = 'dark' | 'light'

export const LOCALES: readonly Locale[] = ['zh-CN', 'en']
/** The Beibei site's staff and drivers read Chinese first. */
export const DEFAULT_LOCALE: Locale = 'zh-CN'

const LOCALE_KEY = 'evmon.locale'
const THEME_KEY = 'evmon.theme'

/** The stored locale if it is one we have, else the site default. */
export function initialLocale(saved: string | null): Locale {
  return LOCALES.includes(saved as Locale) ? (saved as Locale) : DEFAULT_LOCALE
}

/** The stored theme, else the system's preference, else dark (the control-room wall screen). */
export function initialTheme(saved: string | null, prefersLight: boolean): Theme {
  if (saved === 'dark' || saved === 'light') return saved
  return prefersLight ? 'light' : 'dark'
}

export const locale: Ref<Locale> = ref(initialLocale(readStored(LOCALE_KEY)))
export const theme: Ref<Theme> = ref(
  initialTheme(
    readStored(THEME_KEY),
    globalThis.matchMedia?.('(prefers-color-scheme: light)').matches ?? false,
  ),
)

watch(locale, (value) => writeStored(LOCALE_KEY, value))
watch(theme, (value) => writeStored(THEME_KEY, value))
