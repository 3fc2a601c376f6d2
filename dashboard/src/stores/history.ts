import type { LiveSnapshot, SiteLoadResponse } from '@evmon/contracts'
// The subpath, not the package root: the root compiles the payload validators (new Function), which
// the dashboard's Content-Security-Policy rightly forbids.
import { stationLoadW } from '@evmon/contracts/live'

// The rolling power history behind the site load chart, kept as plain immutable data so that the
// store can swap it in a shallowRef and every rule here is testable without a browser.

/** One point per snapshot second. */
export interface HistoryPoint {
  /** Start of the snapshot's second, UTC ms. */
  ts: number
  site_w: number
  /** Grid power by station id; a station missing here was not in that snapshot. */
  station_w: Readonly<Record<string, number>>
  /** The data source was lost after this point: what happened until the next one is unknown. */
  gapAfter?: true
}

export interface History {
  /** Oldest first, one per second at most, spanning no more than the window. */
  readonly points: readonly HistoryPoint[]
  /** Latest display name by station id, for the legend. */
  readonly names: Readonly<Record<string, string>>
}

export const HISTORY_WINDOW_MS = 60 * 60 * 1000

/** Stacking more series than this stops being readable; the smallest are summed into one. */
const MAX_SERIES = 8

/** Points the chart draws at most: an hour of seconds becomes 5 s means (see averagePoints). */
export const MAX_CHART_POINTS = 720

export const OTHER_SERIES_KEY = '__other'

export const EMPTY_HISTORY: History = Object.freeze({ points: [], names: {} })

/**
 * The history with its last point marked as the end of known data, so that the chart breaks its
 * lines there instead of holding the last value across an outage.
 */
export function markGap(history: History): History {
  const last = history.points.at(-1)
  if (last === undefined || last.gapAfter) return history
  return { ...history, points: [...history.points.slice(0, -1), { ...last, gapAfter: true }] }
}

/** True when `next` should replace `current` as the latest snapshot. */
export function isNewerSnapshot(current: LiveSnapshot | null, next: LiveSnapshot): boolean {
  // Equal counts as newer: when every station goes quiet the timestamp stops moving while online
  // and status flags still change.
  return current === null || next.ts >= current.ts
}

/**
 * The history with `snapshot` added: a later snapshot in the same second replaces that second's
 * point, an older one is ignored (a poll answer overtaken by a WebSocket frame), and points more
 * than `windowMs` older than the newest are dropped. Time is the server's, never the browser clock,
 * so a screen with a wrong clock still shows the right hour.
 */
export function appendSnapshot(
  history: History,
  snapshot: LiveSnapshot,
  windowMs = HISTORY_WINDOW_MS,
): History {
  return appendSnapshots(history, [snapshot], windowMs)
}

/**
 * The history with each snapshot added in order, by appendSnapshot's rules, copying the points once:
 * a replay at 3600× delivers an hour of snapshots per second, and copying an hour of points for each
 * would cost more than drawing them.
 */
export function appendSnapshots(
  history: History,
  snapshots: readonly LiveSnapshot[],
  windowMs = HISTORY_WINDOW_MS,
): History {
  let points: HistoryPoint[] | null = null
  let names: Record<string, string> | null = null
  for (const snapshot of snapshots) {
    const current: readonly HistoryPoint[] = points ?? history.points
    const ts = Math.floor(snapshot.ts / 1000) * 1000
    const last = current.at(-1)
    let action: 'push' | 'replace' | 'restart'
    if (last === undefined || ts > last.ts) action = 'push'
    else if (ts === last.ts) action = 'replace'
    // The server clock went back by more than the window (corrected, or a restart with another
    // clock): waiting for it to catch up would freeze the chart for that long, so start over.
    else if (last.ts - ts > windowMs) action = 'restart'
    else continue

    const station_w: Record<string, number> = {}
    names ??= { ...history.names }
    for (const station of snapshot.stations) {
      station_w[station.station] = stationLoadW(station.grid_power_w, station.connectors)
      names[station.station] = station.name ?? station.station
    }
    const point: HistoryPoint = { ts, site_w: snapshot.site_power_w, station_w }
    points ??= [...history.points]
    if (action === 'restart') points = [point]
    else if (action === 'replace') points[points.length - 1] = point
    else points.push(point)
  }
  if (points === null || names === null) return history
  return { points: withinWindow(points, windowMs), names }
}

/**
 * The stored site load (`GET /sites/:id/load`) as history points, one per bucket at its start, oldest
 * first: what the chart shows of the hour before the page opened.
 */
export function loadToPoints(load: Pick<SiteLoadResponse, 'points' | 'stations'>): HistoryPoint[] {
  const byTs = new Map<number, Record<string, number>>()
  for (const [id, buckets] of Object.entries(load.stations)) {
    for (const { t, power_w } of buckets) {
      let stationW = byTs.get(t)
      if (!stationW) byTs.set(t, (stationW = {}))
      stationW[id] = power_w
    }
  }
  return load.points
    .map((p) => ({ ts: p.t, site_w: p.power_w, station_w: byTs.get(p.t) ?? {} }))
    .sort((a, b) => a.ts - b.ts)
}

/** Shape check of a site load answer, down to every bucket: a bad one must not reach the chart. */
export function isSiteLoadLike(value: unknown): value is Pick<SiteLoadResponse, 'points' | 'stations'> {
  if (typeof value !== 'object' || value === null) return false
  const { points, stations } = value as Record<string, unknown>
  const isBucket = (b: unknown) =>
    typeof b === 'object' &&
    b !== null &&
    Number.isFinite((b as Record<string, unknown>).t) &&
    Number.isFinite((b as Record<string, unknown>).power_w)
  return (
    Array.isArray(points) &&
    points.every(isBucket) &&
    typeof stations === 'object' &&
    stations !== null &&
    Object.values(stations).every((s) => Array.isArray(s) && s.every(isBucket))
  )
}

/**
 * The history with stored points filling the time it does not cover: before its first point, and
 * inside a gap (after a point marked `gapAfter`, before the next one). Live points always win, so a
 * backfill that arrives after the stream has started adds nothing twice and nothing out of order;
 * stored points newer than the latest live one are left to the stream. Trimmed to the window.
 */
export function mergeBackfill(
  history: History,
  stored: readonly HistoryPoint[],
  windowMs = HISTORY_WINDOW_MS,
): History {
  const live = history.points
  const merged: HistoryPoint[] = []
  let next = 0 // the first live point not yet in `merged`
  let added = false
  for (const point of [...stored].sort((a, b) => a.ts - b.ts)) {
    while (next < live.length && live[next]!.ts <= point.ts) merged.push(live[next++]!)
    const previous = merged.at(-1)
    if (previous !== undefined && previous.ts >= point.ts) continue
    // Live data holds from its last point until the next one unless the stream was lost there.
    const liveBefore = next > 0 ? live[next - 1]! : undefined
    if (liveBefore !== undefined && !liveBefore.gapAfter) continue
    merged.push({ ts: point.ts, site_w: point.site_w, station_w: point.station_w })
    added = true
  }
  if (!added) return history
  merged.push(...live.slice(next))
  return { points: withinWindow(merged, windowMs), names: history.names }
}

/** The points no more than `windowMs` older than the newest (a non-empty list, oldest first). */
function withinWindow(points: HistoryPoint[], windowMs: number): HistoryPoint[] {
  const oldest = points.at(-1)!.ts - windowMs
  const firstKept = points.findIndex((p) => p.ts >= oldest)
  return firstKept > 0 ? points.slice(firstKept) : points
}

/** One stacked line of the chart, in kW, each value holding until the next; `null` breaks the line. */
export interface ChartSeries {
  /** Station id, or OTHER_SERIES_KEY. */
  key: string
  label: string
  /** How many stations the "other stations" series sums; absent on a single station's series. */
  count?: number
  data: (number | null)[]
}

export interface ChartSeriesSet {
  /** X values, UTC ms. */
  labels: number[]
  series: ChartSeries[]
  /** Site power in kW at each label, as the API summed it. */
  totals: (number | null)[]
}

/**
 * The history as chart series: one per station in order of first appearance (so colours stay put),
 * a null point just after each marked gap, and beyond `maxSeries` stations the ones with the least
 * energy in the window summed into "other stations". Points far apart with no gap between them are
 * fine: the API sends a snapshot only when something changed, so each value held until the next.
 * Beyond `maxPoints` points, consecutive seconds are averaged (see averagePoints).
 */
export function toChartSeries(
  history: History,
  maxSeries = MAX_SERIES,
  maxPoints = MAX_CHART_POINTS,
): ChartSeriesSet {
  const points = averagePoints(history.points, maxPoints)
  const ids: string[] = []
  const energy = new Map<string, number>()
  for (const point of points) {
    for (const [id, w] of Object.entries(point.station_w)) {
      if (!energy.has(id)) ids.push(id)
      energy.set(id, (energy.get(id) ?? 0) + w)
    }
  }

  let shown = ids
  let others: string[] = []
  if (ids.length > maxSeries) {
    const top = new Set(
      [...ids].sort((a, b) => (energy.get(b) ?? 0) - (energy.get(a) ?? 0)).slice(0, maxSeries - 1),
    )
    shown = ids.filter((id) => top.has(id))
    others = ids.filter((id) => !top.has(id))
  }

  const labels: number[] = []
  const totals: (number | null)[] = []
  const series: ChartSeries[] = shown.map((id) => ({ key: id, label: history.names[id] ?? id, data: [] }))
  const other: ChartSeries | null =
    others.length > 0
      ? { key: OTHER_SERIES_KEY, label: `${others.length} other stations`, count: others.length, data: [] }
      : null
  if (other) series.push(other)

  for (const point of points) {
    labels.push(point.ts)
    totals.push(point.site_w / 1000)
    shown.forEach((id, i) => series[i]!.data.push(kw(point.station_w[id])))
    if (other) other.data.push(sumKw(point.station_w, others))
    if (point.gapAfter) {
      // 1 ms later: the next second may already hold a point.
      labels.push(point.ts + 1)
      totals.push(null)
      for (const s of series) s.data.push(null)
    }
  }
  return { labels, series, totals }
}

/**
 * The points, or when there are more than `maxPoints`, the mean of each run of whole `step` seconds
 * (the fewest that fit), stamped with the time of its first point and marked as a gap if any of its
 * points was. A wall screen's chart is about a thousand pixels wide: an hour of seconds is 3,600
 * points a pixel apart at best, and Chart.js re-parses and lays out every point on every update, so
 * drawing them all cost a third of the page's main thread at 1 Hz. Means keep the stacking honest
 * (the stations' means add up to the site's) and keep the energy under each line; steps are aligned
 * to whole multiples of `step` since the epoch, so a new second changes only the last one.
 */
export function averagePoints(points: readonly HistoryPoint[], maxPoints: number): readonly HistoryPoint[] {
  if (points.length <= maxPoints) return points
  const spanMs = points.at(-1)!.ts - points[0]!.ts
  const stepMs = Math.max(1, Math.ceil(spanMs / maxPoints / 1000)) * 1000
  const out: HistoryPoint[] = []
  let i = 0
  while (i < points.length) {
    const first = points[i]!
    const bucket = Math.floor(first.ts / stepMs)
    let siteW = 0
    let n = 0
    let gapAfter = false
    const sums: Record<string, { w: number; n: number }> = {}
    for (; i < points.length && Math.floor(points[i]!.ts / stepMs) === bucket; i++) {
      const p = points[i]!
      siteW += p.site_w
      n++
      gapAfter ||= p.gapAfter === true
      for (const [id, w] of Object.entries(p.station_w)) {
        const sum = (sums[id] ??= { w: 0, n: 0 })
        sum.w += w
        sum.n++
      }
    }
    const station_w: Record<string, number> = {}
    for (const [id, sum] of Object.entries(sums)) station_w[id] = sum.w / sum.n
    out.push({ ts: first.ts, site_w: siteW / n, station_w, ...(gapAfter ? { gapAfter: true as const } : {}) })
  }
  return out
}

function kw(watts: number | undefined): number | null {
  return watts === undefined ? null : watts / 1000
}

function sumKw(stationW: Readonly<Record<string, number>>, ids: readonly string[]): number | null {
  let sum: number | null = null
  for (const id of ids) {
    const w = stationW[id]
    if (w !== undefined) sum = (sum ?? 0) + w / 1000
  }
  return sum
}
