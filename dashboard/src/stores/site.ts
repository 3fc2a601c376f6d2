import type { Site, SiteListResponse } from '@evmon/contracts/site'
import { computed, shallowRef } from 'vue'
import { getJson } from '../http/client.ts'

// The site the dashboard shows, as the API describes it (GET /api/v1/sites/:id): its name, time zone
// and stations come from the site file, not from constants here. Fetched once, before the app mounts,
// so every view formats and filters with it from its first render.

const description = shallowRef<Site | null>(null)

/** The site's description; null only when the API describes no site (or could not be reached). */
export const site = computed(() => description.value)

/** Id of the site shown: `?site=` when the API describes it, else the first the API lists. */
export const siteId = computed(() => description.value?.id ?? '')

/**
 * The site's IANA time zone: every time on screen is the site's wall-clock time, wherever the viewer is.
 * Without a described site, UTC — a zone that at least says which it is.
 */
export const siteTimeZone = computed(() => description.value?.timezone ?? 'UTC')

/** The site's name in `locale`, else its own name. */
export const siteName = (locale: string): string =>
  description.value?.names?.[locale] ?? description.value?.name ?? ''

/** Sets the site shown (loadSite does; tests give one directly). */
export function showSite(value: Site | null): void {
  description.value = value
}

/** Fetches the site list and the chosen site's description; a failure leaves the site unknown. */
export async function loadSite(
  requested: string | null = new URLSearchParams(location.search).get('site'),
): Promise<void> {
  try {
    const { sites } = await getJson<SiteListResponse>('/api/v1/sites')
    const id = sites.find((s) => s.id === requested)?.id ?? sites[0]?.id
    if (id !== undefined) showSite(await getJson<Site>(`/api/v1/sites/${encodeURIComponent(id)}`))
  } catch (err) {
    console.error('evmon: the site description could not be loaded', err)
  }
}
