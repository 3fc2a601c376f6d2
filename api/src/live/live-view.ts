import type { LiveView } from '@evmon/contracts'
import type { LiveFilter, LiveState } from './live-state.ts'
import { siteTotals } from './site-totals.ts'

/** Live answers are reused for this long: telemetry arrives once a second, so fresher gains nothing. */
const CACHE_MS = 500

/** The live view with site totals, and its JSON text cached briefly per filter so polling stays cheap at any scale. */
export interface LiveViews {
  view(filter: LiveFilter, detail?: 'stations' | 'sites'): LiveView
  /** The same view serialised, reused for {@link CACHE_MS}. */
  json(filter: LiveFilter, detail?: 'stations' | 'sites'): string
}

export function createLiveViews(
  live: LiveState,
  clock: () => number,
  gridLimitW: (site: string) => number | null,
): LiveViews {
  const cache = new Map<string, { at: number; text: string }>()
  const view = (filter: LiveFilter, detail: 'stations' | 'sites' = 'stations'): LiveView => {
    const snapshot = live.snapshot(clock(), filter)
    return {
      ts: snapshot.ts,
      site_power_w: snapshot.site_power_w,
      sites: siteTotals(snapshot.stations, gridLimitW),
      stations: detail === 'sites' ? [] : snapshot.stations,
    }
  }
  return {
    view,
    json(filter, detail = 'stations') {
      const key = `${filter.site ?? ''}/${filter.station ?? ''}/${detail}`
      const now = clock()
      const hit = cache.get(key)
      if (hit !== undefined && now - hit.at < CACHE_MS && now >= hit.at) return hit.text
      const text = JSON.stringify(view(filter, detail))
      // Filters are ids, but a client can still name many: keep the cache bounded.
      if (cache.size > 1_000) cache.clear()
      cache.set(key, { at: now, text })
      return text
    },
  }
}
