import type { LiveView } from '@evmon/contracts'
import type { LiveFilter, LiveState } from './live-state.ts'
import { siteTotals } from './site-totals.ts'

/** A cached answer's `ts` is at most this old: telemetry arrives once a second, so fresher gains nothing. */
const CACHE_MS = 500

/** Filters are ids, but a client can still name many: the cache is cleared beyond this many entries. */
const MAX_ENTRIES = 1_000

/** The live view with site totals, and its JSON text cached per filter so polling stays cheap at any scale. */
export interface LiveViews {
  view(filter: LiveFilter, detail?: 'stations' | 'sites'): LiveView
  /**
   * The same view serialised, as the bytes sent. They are reused while the live state of the filter's scope is
   * unchanged (same {@link LiveState.siteVersion} for a site, same {@link LiveState.version}
   * otherwise), no station in it has turned stale since, and it is younger than {@link CACHE_MS}.
   */
  json(filter: LiveFilter, detail?: 'stations' | 'sites'): Buffer
}

/** One serialised answer and what it was computed from. */
export interface CachedAnswer {
  /** UTF-8 JSON, ready to send: encoded once, not on every request. */
  body: Buffer
  at: number
  version: number
  /** The answer is no longer valid from this time on: a station in it turns stale, or it is too old. */
  until: number
}

/**
 * A small cache of serialised answers keyed by route and normalised query, each tagged with the
 * live-state version it was computed from: an entry is only served at the same version and before
 * its deadline, so it is never staler than the state it was computed from.
 */
export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>()

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  get size(): number {
    return this.entries.size
  }

  /** The cached answer for `key`, or the text `compute` gives, encoded (and then cached). */
  get(key: string, version: number, now: number, compute: () => { text: string; until: number }): Buffer {
    const hit = this.entries.get(key)
    if (hit !== undefined && hit.version === version && now >= hit.at && now < hit.until) return hit.body
    const { text, until } = compute()
    const body = Buffer.from(text)
    if (this.entries.size >= this.maxEntries) this.entries.clear()
    this.entries.set(key, { body, at: now, version, until })
    return body
  }
}

export function createLiveViews(
  live: LiveState,
  clock: () => number,
  gridLimitW: (site: string) => number | null,
): LiveViews {
  const cache = new AnswerCache()
  const build = (now: number, filter: LiveFilter, detail: 'stations' | 'sites'): LiveView => {
    const snapshot = live.snapshot(now, filter)
    return {
      ts: snapshot.ts,
      site_power_w: snapshot.site_power_w,
      sites: siteTotals(snapshot.stations, gridLimitW),
      stations: detail === 'sites' ? [] : snapshot.stations,
    }
  }
  return {
    view: (filter, detail = 'stations') => build(clock(), filter, detail),
    json(filter, detail = 'stations') {
      const now = clock()
      const { site, station } = filter
      // Ids are never empty and never hold '/' (ID_PATTERN, checked by the routes' schemas), so these keys cannot collide.
      const key = `${site ?? ''}/${station ?? ''}/${detail}`
      const version = site === undefined ? live.version : live.siteVersion(site)
      return cache.get(key, version, now, () => ({
        text: JSON.stringify(build(now, filter, detail)),
        until: Math.min(now + CACHE_MS, live.staleDeadline(now, filter)),
      }))
    },
  }
}
