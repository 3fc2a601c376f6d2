import type { LiveView } from '@evmon/contracts'
import type { LiveFilter, LiveState } from './live-state.ts'
import { siteTotals, type AuxLoadW } from './site-totals.ts'

/**
 * The live view is built at most once per period, whatever the feed rate, and shared by every request
 * and stream client. A quarter of a sample period: an update waits at most this long for the stream's
 * next frame, which leaves the rest of the second for the broker, the feed and the fan-out under load
 * (at 500 ms the wait alone could take half of the 1 s from sample to dashboard).
 */
export const LIVE_PERIOD_MS = 250

/** Filters are ids, but a client can still name many: a period's cache is cleared beyond this many entries. */
const MAX_ENTRIES = 1_000

/**
 * Values computed at most once per period and shared by every caller in it. Periods are aligned to
 * the clock (period n is `[n × periodMs, (n + 1) × periodMs)`), so every request and the stream's tick
 * agree on which period they are in; a value never outlives its period, so an answer is at most one
 * period behind the state, whatever the feed rate. A clock that goes back starts a new period.
 */
export class PeriodCache<T> {
  private readonly entries = new Map<string, T>()
  private current = Number.NaN

  constructor(
    readonly periodMs: number,
    private readonly maxEntries = MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size
  }

  /** The value `compute` gave for `key` in the period holding `now`, computing it if this is the first ask. */
  get(key: string, now: number, compute: () => T): T {
    const period = Math.floor(now / this.periodMs)
    if (period !== this.current) {
      this.entries.clear()
      this.current = period
    }
    let value = this.entries.get(key)
    if (value === undefined) {
      value = compute()
      if (this.entries.size >= this.maxEntries) this.entries.clear()
      this.entries.set(key, value)
    }
    return value
  }
}

/**
 * One filter's live view in one period, as the stream and `GET /live` send it: each station serialised
 * once, shared by every request and every stream client of the filter.
 */
export interface ViewFrame {
  ts: number
  /** `"site_power_w":…,"sites":[…]`: the view's fields between `ts` and `stations`. */
  head: string
  /** Each station's JSON, keyed by `site/station`, in snapshot order. */
  stations: Map<string, string>
}

/** The live view with site totals, built once per period per shape and shared by all who read it. */
export interface LiveViews {
  /** The period length: answers are at most this old, and each shape is built at most once in it. */
  readonly periodMs: number
  /** The view of the current period with its stations serialised, as the stream sends it. */
  frame(filter: LiveFilter): ViewFrame
  /** The view of the current period serialised, as the bytes `GET /live` sends. */
  json(filter: LiveFilter, detail?: 'stations' | 'sites'): Buffer
}

// Ids are never empty and never hold '/' (ID_PATTERN, checked by the routes' schemas), so keys cannot collide.
const keyOf = (filter: LiveFilter): string => `${filter.site ?? ''}/${filter.station ?? ''}`

/** `{"ts":…,"site_power_w":…,"sites":[…],"stations":[…]}`, the field order of {@link LiveView}. */
export function frameJson(frame: ViewFrame): string {
  return `{"ts":${frame.ts},${frame.head},"stations":[${[...frame.stations.values()].join(',')}]}`
}

export function createLiveViews(
  live: LiveState,
  clock: () => number,
  gridLimitW: (site: string) => number | null,
  periodMs: number,
  auxLoadW: AuxLoadW = () => 0,
): LiveViews {
  // Three shapes per filter: the view (snapshot and site totals), its stations serialised (the frame),
  // and each detail's bytes. Each is derived from the one before in the same period, never rebuilt.
  const views = new PeriodCache<LiveView>(periodMs)
  const frames = new PeriodCache<ViewFrame>(periodMs)
  const bodies = new PeriodCache<Buffer>(periodMs)
  const view = (now: number, filter: LiveFilter): LiveView =>
    views.get(keyOf(filter), now, () => {
      const snapshot = live.snapshot(now, filter)
      return {
        ts: snapshot.ts,
        site_power_w: snapshot.site_power_w,
        sites: siteTotals(snapshot.stations, gridLimitW, { loadW: auxLoadW, now: snapshot.ts }),
        stations: snapshot.stations,
      }
    })
  const frame = (now: number, filter: LiveFilter): ViewFrame =>
    frames.get(keyOf(filter), now, () => {
      const v = view(now, filter)
      const stations = new Map<string, string>()
      for (const s of v.stations) stations.set(`${s.site}/${s.station}`, JSON.stringify(s))
      const head = `"site_power_w":${JSON.stringify(v.site_power_w)},"sites":${JSON.stringify(v.sites)}`
      return { ts: v.ts, head, stations }
    })
  return {
    periodMs,
    frame: (filter) => frame(clock(), filter),
    json(filter, detail = 'stations') {
      const now = clock()
      return bodies.get(`${keyOf(filter)}/${detail}`, now, () => {
        if (detail === 'stations') return Buffer.from(frameJson(frame(now, filter)))
        const { ts, site_power_w, sites } = view(now, filter)
        return Buffer.from(JSON.stringify({ ts, site_power_w, sites, stations: [] }))
      })
    },
  }
}
