import type { LiveSnapshot, LiveStation } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import {
  appendSnapshot,
  averagePoints,
  EMPTY_HISTORY,
  HISTORY_WINDOW_MS,
  isNewerSnapshot,
  isSiteLoadLike,
  loadToPoints,
  markGap,
  MAX_CHART_POINTS,
  mergeBackfill,
  OTHER_SERIES_KEY,
  toChartSeries,
  type History,
  type HistoryPoint,
} from '../../src/stores/history.ts'

const T0 = Date.UTC(2025, 2, 25, 2, 0, 0)

function station(id: string, grid_power_w: number, name: string | null = null): LiveStation {
  return {
    site: 'beibei',
    station: id,
    name,
    cooling: 'air',
    cabinet_max_power_w: 160_000,
    online: true,
    stale: false,
    last_ts: T0,
    grid_power_w,
    aux_power_w: 0,
    ocpp_identity: null,
    connectors: [],
  }
}

function snap(ts: number, powers: Record<string, number>): LiveSnapshot {
  const stations = Object.entries(powers).map(([id, w]) => station(id, w))
  return { ts, site_power_w: stations.reduce((sum, s) => sum + (s.grid_power_w ?? 0), 0), stations }
}

function fill(seconds: number, powers: Record<string, number>, from = T0): History {
  let history = EMPTY_HISTORY
  for (let s = 0; s < seconds; s++) history = appendSnapshot(history, snap(from + s * 1000, powers))
  return history
}

describe('appendSnapshot', () => {
  test('adds one point per snapshot second at the start of that second', () => {
    let history = appendSnapshot(EMPTY_HISTORY, snap(T0 + 250, { a: 1000 }))
    history = appendSnapshot(history, snap(T0 + 1_100, { a: 2000 }))
    expect(history.points.map((p) => p.ts)).toEqual([T0, T0 + 1000])
    expect(history.points[1]).toEqual({ ts: T0 + 1000, site_w: 2000, station_w: { a: 2000 } })
  })

  test('a later snapshot in the same second replaces that second', () => {
    let history = appendSnapshot(EMPTY_HISTORY, snap(T0 + 100, { a: 1000 }))
    history = appendSnapshot(history, snap(T0 + 900, { a: 3000 }))
    expect(history.points).toHaveLength(1)
    expect(history.points[0]?.station_w).toEqual({ a: 3000 })
  })

  test('ignores a snapshot older than the newest point, returning the same history', () => {
    const history = fill(5, { a: 1000 })
    expect(appendSnapshot(history, snap(T0 + 2_000, { a: 9 }))).toBe(history)
  })

  test('keeps exactly the last hour', () => {
    const history = fill(3_700, { a: 1000 })
    expect(history.points).toHaveLength(3_601)
    expect(history.points[0]?.ts).toBe(T0 + 99_000)
    expect(history.points.at(-1)!.ts - history.points[0]!.ts).toBe(HISTORY_WINDOW_MS)
  })

  test('after an outage longer than the window only the new point is kept', () => {
    const before = fill(10, { a: 1000 })
    const after = appendSnapshot(before, snap(T0 + 2 * HISTORY_WINDOW_MS, { a: 5 }))
    expect(after.points.map((p) => p.ts)).toEqual([T0 + 2 * HISTORY_WINDOW_MS])
  })

  test('starts over when the server clock goes back by more than the window', () => {
    const history = fill(10, { a: 1000 })
    const back = T0 - 2 * HISTORY_WINDOW_MS
    expect(appendSnapshot(history, snap(back, { a: 7 })).points).toEqual([
      { ts: back, site_w: 7, station_w: { a: 7 } },
    ])
  })

  test('a snapshot in the same second as a gap replaces the gap: nothing was missed', () => {
    const history = appendSnapshot(markGap(fill(1, { a: 1000 })), snap(T0 + 500, { a: 1000 }))
    expect(history.points).toEqual([{ ts: T0, site_w: 1000, station_w: { a: 1000 } }])
  })

  test('does not change the history it was given', () => {
    const history = fill(3, { a: 1000 })
    const copy = structuredClone(history)
    appendSnapshot(history, snap(T0 + 2_500, { a: 5 }))
    appendSnapshot(history, snap(T0 + 9_000, { a: 5 }))
    expect(history).toEqual(copy)
  })

  test('names series by the latest station name, falling back to the id', () => {
    let history = appendSnapshot(EMPTY_HISTORY, { ts: T0, site_power_w: 0, stations: [station('a', 0)] })
    expect(history.names).toEqual({ a: 'a' })
    history = appendSnapshot(history, {
      ts: T0 + 1000,
      site_power_w: 0,
      stations: [station('a', 0, 'Fast 1')],
    })
    expect(history.names).toEqual({ a: 'Fast 1' })
  })
})

describe('markGap', () => {
  test('marks the last point once and leaves the rest alone', () => {
    const history = fill(2, { a: 1000 })
    const marked = markGap(history)
    expect(marked.points.map((p) => p.gapAfter)).toEqual([undefined, true])
    expect(history.points[1]?.gapAfter).toBeUndefined()
    expect(markGap(marked)).toBe(marked)
  })

  test('an empty history has nothing to mark', () => {
    expect(markGap(EMPTY_HISTORY)).toBe(EMPTY_HISTORY)
  })
})

/** Stored points every `stepS` seconds from `from` for `count` buckets, 1 kW on station a per index. */
function stored(from: number, count: number, stepS = 10): HistoryPoint[] {
  return Array.from({ length: count }, (_, i) => ({
    ts: from + i * stepS * 1000,
    site_w: 1000 * i,
    station_w: { a: 1000 * i },
  }))
}

const timesOf = (history: History) => history.points.map((p) => p.ts)
const isStrictlyIncreasing = (ts: number[]) => ts.every((t, i) => i === 0 || t > ts[i - 1]!)

describe('loadToPoints', () => {
  test('one point per site bucket, with the stations that reported in it', () => {
    const points = loadToPoints({
      points: [
        { t: T0 + 10_000, power_w: 5_000, peak_w: null },
        { t: T0, power_w: 3_000, peak_w: 3_500 },
      ],
      stations: {
        a: [
          { t: T0, power_w: 1_000 },
          { t: T0 + 10_000, power_w: 5_000 },
        ],
        b: [{ t: T0, power_w: 2_000 }],
      },
    })
    expect(points).toEqual([
      { ts: T0, site_w: 3_000, station_w: { a: 1_000, b: 2_000 } },
      { ts: T0 + 10_000, site_w: 5_000, station_w: { a: 5_000 } },
    ])
  })

  test('the shape check refuses anything but buckets of finite numbers', () => {
    const good = { points: [{ t: T0, power_w: 1, peak_w: null }], stations: { a: [{ t: T0, power_w: 1 }] } }
    expect(isSiteLoadLike(good)).toBe(true)
    expect(isSiteLoadLike(null)).toBe(false)
    expect(isSiteLoadLike({ points: [] })).toBe(false)
    expect(isSiteLoadLike({ ...good, points: [{ t: 'x', power_w: 1 }] })).toBe(false)
    expect(isSiteLoadLike({ ...good, stations: { a: [{ t: T0, power_w: null }] } })).toBe(false)
    expect(isSiteLoadLike({ ...good, stations: { a: 5 } })).toBe(false)
  })
})

describe('mergeBackfill', () => {
  test('into an empty history: the stored points, then the stream continues after them', () => {
    let history = mergeBackfill(EMPTY_HISTORY, stored(T0, 6))
    expect(timesOf(history)).toEqual([0, 1, 2, 3, 4, 5].map((i) => T0 + i * 10_000))
    history = appendSnapshot(history, snap(T0 + 52_400, { a: 7_000 }))
    expect(timesOf(history).at(-1)).toBe(T0 + 52_000)
    expect(isStrictlyIncreasing(timesOf(history))).toBe(true)
  })

  test('arriving after the stream started: only points older than the first live one, live wins', () => {
    const live = fill(30, { a: 9_000 }, T0 + 25_000) // T0+25 s … T0+54 s
    const merged = mergeBackfill(live, stored(T0, 6)) // T0 … T0+50 s
    expect(timesOf(merged)).toEqual([T0, T0 + 10_000, T0 + 20_000, ...timesOf(live)])
    expect(merged.points.slice(3)).toEqual(live.points)
    expect(merged.names).toBe(live.names)
  })

  test('a point in the same second as a live one, or none older, changes nothing', () => {
    const live = fill(5, { a: 9_000 })
    expect(mergeBackfill(live, stored(T0, 1))).toBe(live)
    expect(mergeBackfill(live, stored(T0 + 10_000, 3))).toBe(live)
    expect(mergeBackfill(live, [])).toBe(live)
  })

  test('fills a gap the stream left (page away, socket lost), and keeps the gap marker before it', () => {
    let live = markGap(fill(5, { a: 9_000 })) // T0 … T0+4 s, then lost
    live = appendSnapshot(live, snap(T0 + 60_000, { a: 8_000 }))
    const merged = mergeBackfill(live, stored(T0, 8)) // T0 … T0+70 s
    expect(timesOf(merged)).toEqual([
      ...[0, 1, 2, 3, 4].map((s) => T0 + s * 1000),
      T0 + 10_000,
      T0 + 20_000,
      T0 + 30_000,
      T0 + 40_000,
      T0 + 50_000,
      T0 + 60_000,
    ])
    expect(merged.points[4]?.gapAfter).toBe(true)
    expect(merged.points.at(-1)).toEqual(live.points.at(-1))
  })

  test('never adds stored points after the newest live one unless the stream was lost there', () => {
    const live = fill(3, { a: 9_000 }, T0)
    expect(timesOf(mergeBackfill(live, stored(T0 + 3_000, 3, 1)))).toEqual(timesOf(live))
    expect(timesOf(mergeBackfill(markGap(live), stored(T0 + 10_000, 2)))).toEqual([
      ...timesOf(live),
      T0 + 10_000,
      T0 + 20_000,
    ])
  })

  test('unsorted stored points come out in order, and the result spans no more than the window', () => {
    const points = stored(T0, 400).reverse() // 4,000 s of 10 s buckets, newest first
    const merged = mergeBackfill(EMPTY_HISTORY, points)
    expect(isStrictlyIncreasing(timesOf(merged))).toBe(true)
    expect(merged.points.at(-1)!.ts - merged.points[0]!.ts).toBe(HISTORY_WINDOW_MS)
  })
})

describe('isNewerSnapshot', () => {
  test('accepts the first, newer and same-time snapshots, rejects older ones', () => {
    const current = snap(T0, {})
    expect(isNewerSnapshot(null, current)).toBe(true)
    expect(isNewerSnapshot(current, snap(T0 + 1, {}))).toBe(true)
    expect(isNewerSnapshot(current, snap(T0, { a: 1 }))).toBe(true)
    expect(isNewerSnapshot(current, snap(T0 - 1, {}))).toBe(false)
  })
})

describe('toChartSeries', () => {
  test('one series per station in kW, labels in ms, totals from the site power', () => {
    const history = fill(3, { 'zn-super': 452_300, 'kc-ac': 6_900 })
    expect(toChartSeries(history)).toEqual({
      labels: [T0, T0 + 1000, T0 + 2000],
      series: [
        { key: 'zn-super', label: 'zn-super', data: [452.3, 452.3, 452.3] },
        { key: 'kc-ac', label: 'kc-ac', data: [6.9, 6.9, 6.9] },
      ],
      totals: [459.2, 459.2, 459.2],
    })
  })

  test('an empty history gives an empty chart', () => {
    expect(toChartSeries(EMPTY_HISTORY)).toEqual({ labels: [], series: [], totals: [] })
  })

  test('breaks every line just after a marked gap', () => {
    let history = markGap(fill(2, { a: 1000 }))
    history = appendSnapshot(history, snap(T0 + 2000, { a: 2000 }))
    const { labels, series, totals } = toChartSeries(history)
    expect(labels).toEqual([T0, T0 + 1000, T0 + 1001, T0 + 2000])
    expect(series[0]?.data).toEqual([1, 1, null, 2])
    expect(totals).toEqual([1, 1, null, 2])
  })

  test('joins points far apart when no gap was marked: the value held in between', () => {
    let history = fill(1, { a: 1000 })
    history = appendSnapshot(history, snap(T0 + 600_000, { a: 2000 }))
    expect(toChartSeries(history).series[0]?.data).toEqual([1, 2])
  })

  test('a station that joins later has no values before it appeared, and keeps its place', () => {
    let history = fill(2, { a: 1000 })
    history = appendSnapshot(history, snap(T0 + 2000, { b: 3000, a: 1000 }))
    const { series } = toChartSeries(history)
    expect(series.map((s) => s.key)).toEqual(['a', 'b'])
    expect(series[1]?.data).toEqual([null, null, 3])
  })

  test('beyond the series limit the stations with least energy are summed into one series', () => {
    const powers = { a: 1000, b: 50_000, c: 2000, d: 40_000, e: 3000 }
    const { series } = toChartSeries(fill(2, powers), 3)
    expect(series).toEqual([
      { key: 'b', label: 'b', data: [50, 50] },
      { key: 'd', label: 'd', data: [40, 40] },
      { key: OTHER_SERIES_KEY, label: '3 other stations', count: 3, data: [6, 6] },
    ])
  })

  test('the summed series is empty where none of its stations reported', () => {
    let history = fill(1, { a: 9_000, b: 8_000 })
    history = appendSnapshot(history, snap(T0 + 1000, { a: 9_000, b: 8_000, c: 1_000 }))
    const other = toChartSeries(history, 2).series.find((s) => s.key === OTHER_SERIES_KEY)
    expect(other).toEqual({ key: OTHER_SERIES_KEY, label: '2 other stations', count: 2, data: [8, 9] })
    history = appendSnapshot(history, snap(T0 + 2000, { a: 9_000 }))
    expect(toChartSeries(history, 2).series.at(-1)?.data).toEqual([8, 9, null])
  })
})

describe('averagePoints', () => {
  const seconds = (count: number, w: (i: number) => number, from = T0): HistoryPoint[] =>
    Array.from({ length: count }, (_, i) => ({
      ts: from + i * 1000,
      site_w: w(i) * 2,
      station_w: { a: w(i), b: w(i) },
    }))

  test('leaves a history within the limit as it is', () => {
    const points = seconds(10, (i) => i)
    expect(averagePoints(points, 10)).toBe(points)
  })

  test('an hour of seconds becomes 5 s means, each stamped with its first point, under the limit', () => {
    const points = seconds(3_601, (i) => (i % 5 === 0 ? 10_000 : 0)) // T0 is a multiple of 5 s
    const out = averagePoints(points, MAX_CHART_POINTS)
    expect(out.length).toBeLessThanOrEqual(MAX_CHART_POINTS + 1)
    expect(out.length).toBeGreaterThan(MAX_CHART_POINTS / 2)
    expect(out[0]).toEqual({ ts: T0, site_w: 4_000, station_w: { a: 2_000, b: 2_000 } })
    expect(out[1]?.ts).toBe(T0 + 5_000)
    // Energy is kept: the mean over the hour is the same before and after.
    const mean = (ps: readonly HistoryPoint[], n: number) => ps.reduce((sum, p) => sum + p.site_w * n, 0)
    expect(mean(out.slice(0, -1), 5)).toBe(mean(points.slice(0, -1), 1))
  })

  test('steps are aligned to the clock, so a new second only changes the last one', () => {
    const points = seconds(3_600, (i) => i, T0 + 2_000)
    const before = averagePoints(points, MAX_CHART_POINTS)
    const after = averagePoints([...points, ...seconds(1, () => 99, T0 + 3_602_000)], MAX_CHART_POINTS)
    expect(after.slice(0, before.length - 1)).toEqual(before.slice(0, -1))
    // The first step holds the three seconds before the first 5 s boundary.
    expect(before[0]).toMatchObject({ ts: T0 + 2_000, station_w: { a: 1 } })
  })

  test('a gap inside a step breaks the line after it; a station missing in part of a step is averaged where present', () => {
    const points = seconds(1_000, () => 1_000)
    points[7] = { ...points[7]!, gapAfter: true, station_w: { a: 1_000 } }
    const out = averagePoints(points, 500)
    expect(out.map((p) => p.gapAfter === true).indexOf(true)).toBe(3) // seconds 6-7 of 2 s steps
    expect(out[3]?.station_w).toEqual({ a: 1_000, b: 1_000 })
    expect(out.filter((p) => p.gapAfter)).toHaveLength(1)
  })

  test('toChartSeries draws the averaged points', () => {
    let history = EMPTY_HISTORY
    for (let s = 0; s < 3_000; s++) history = appendSnapshot(history, snap(T0 + s * 1000, { a: 1000 }))
    const { labels, series } = toChartSeries(history)
    expect(labels.length).toBeLessThanOrEqual(MAX_CHART_POINTS + 1)
    expect(series[0]?.data.every((v) => v === 1)).toBe(true)
  })
})
