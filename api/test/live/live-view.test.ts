import type { LiveView } from '@evmon/contracts'
import { describe, expect, test, vi } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'
import { createLiveViews, PeriodCache } from '../../src/live/live-view.ts'

const T0 = 1_742_869_800_000 // a multiple of the period: T0 starts a period
const PERIOD_MS = 500
const STALE_AFTER_MS = 3_000
const parse = (body: Buffer) => JSON.parse(body.toString('utf8')) as LiveView

function setup() {
  const state = new LiveState(STALE_AFTER_MS)
  let now = T0
  const views = createLiveViews(
    state,
    () => now,
    () => 1_000_000,
    PERIOD_MS,
  )
  const snapshots = vi.spyOn(state, 'snapshot')
  const publish = (site: string, station: string, powerW: number, at = now) =>
    state.apply(decoded(site, station, 'telemetry', telemetry(at, at, [connectorSample(1, powerW)]), at), at)
  for (const site of ['beibei', 'other']) {
    state.apply(decoded(site, 'zn-super', 'meta', stationMeta('zn-super'), T0), T0)
    state.apply(decoded(site, 'zn-super', 'online', { online: true, ts: T0 }, T0), T0)
    publish(site, 'zn-super', 100_000)
  }
  const power = (body: Buffer) => parse(body).stations[0]?.connectors[0]?.power_w
  return {
    state,
    views,
    snapshots,
    publish,
    power,
    setNow: (t: number) => {
      now = t
    },
  }
}

describe('live views', () => {
  test('requests within one period share one build per shape, whatever the feed does meanwhile', () => {
    const { views, snapshots, publish, setNow } = setup()
    const first = views.json({ site: 'beibei' })
    const sites = views.json({}, 'sites')
    for (let i = 1; i <= 100; i++) {
      // A feed far faster than the period: every request sees a changed state.
      publish('beibei', 'zn-super', 100_000 + i, T0 + i)
      publish('other', 'zn-super', 100_000 + i, T0 + i)
      setNow(T0 + (i * (PERIOD_MS - 1)) / 100)
      expect(views.json({ site: 'beibei' })).toBe(first)
      expect(views.json({}, 'sites')).toBe(sites)
    }
    // One snapshot per filter: the site's, and the unfiltered one behind the site totals.
    expect(snapshots).toHaveBeenCalledTimes(2)
    // The same period's view with stations, and the stream's frame, reuse the unfiltered snapshot.
    views.json({})
    views.frame({})
    views.frame({ site: 'beibei' })
    expect(snapshots).toHaveBeenCalledTimes(2)
    setNow(T0 + PERIOD_MS)
    expect(views.json({ site: 'beibei' })).not.toBe(first)
    expect(snapshots).toHaveBeenCalledTimes(3)
  })

  test('a change shows in the next period, and no answer outlives its period', () => {
    const { views, publish, power, setNow } = setup()
    setNow(T0 + 100)
    expect(power(views.json({ site: 'beibei' }))).toBe(100_000)
    expect(power(views.json({ station: 'zn-super' }))).toBe(100_000)
    publish('beibei', 'zn-super', 250_000, T0 + 200)
    setNow(T0 + PERIOD_MS - 1)
    expect(power(views.json({ site: 'beibei' }))).toBe(100_000)
    setNow(T0 + PERIOD_MS)
    const next = parse(views.json({ site: 'beibei' }))
    expect(next.ts).toBe(T0 + PERIOD_MS)
    expect(next.stations[0]?.connectors[0]?.power_w).toBe(250_000)
    // A filter first asked for late in a period is as fresh as the state at that moment.
    expect(power(views.json({ station: 'zn-super' }))).toBe(250_000)
    expect(parse(views.json({})).stations.map((s) => s.site)).toEqual(['beibei', 'other'])
  })

  test('the bytes are the state’s snapshot with its site totals, in the contract’s field order', () => {
    const { views, state, setNow } = setup()
    setNow(T0 + 1_234)
    const expected = state.snapshot(T0 + 1_234, { site: 'beibei' })
    const body = views.json({ site: 'beibei' }).toString('utf8')
    expect(Object.keys(JSON.parse(body) as object)).toEqual(['ts', 'site_power_w', 'sites', 'stations'])
    const view = JSON.parse(body) as LiveView
    expect(view.stations).toEqual(expected.stations)
    expect(view.site_power_w).toBe(expected.site_power_w)
    expect(view.sites).toEqual([
      expect.objectContaining({ site: 'beibei', power_w: expected.site_power_w, stations: 1 }),
    ])
    expect(parse(views.json({ site: 'beibei' }, 'sites'))).toEqual({ ...view, stations: [] })
  })

  test('a station turning stale shows within one period', () => {
    const { views, setNow } = setup()
    setNow(T0 + STALE_AFTER_MS - 1)
    expect(parse(views.json({ site: 'beibei' })).stations[0]?.stale).toBe(false)
    setNow(T0 + STALE_AFTER_MS + PERIOD_MS)
    const stale = parse(views.json({ site: 'beibei' }))
    expect(stale.stations[0]?.stale).toBe(true)
    expect(stale.ts).toBe(T0 + STALE_AFTER_MS + PERIOD_MS)
  })

  test('a period cache computes each key once per clock-aligned period and stays bounded', () => {
    const cache = new PeriodCache<string>(100, 2)
    let computed = 0
    const compute = (value: string) => () => {
      computed++
      return value
    }
    expect(cache.get('a', 1_000, compute('a1'))).toBe('a1')
    expect(cache.get('a', 1_099, compute('unused'))).toBe('a1')
    expect(cache.get('a', 1_100, compute('a2'))).toBe('a2') // the next period, 100 ms after the first ask
    expect(cache.get('a', 1_050, compute('a2-earlier'))).toBe('a2-earlier') // the clock went back
    expect(computed).toBe(3)
    cache.get('b', 1_050, compute('b'))
    cache.get('c', 1_050, compute('c'))
    expect(cache.size).toBeLessThanOrEqual(2)
    cache.get('d', 1_200, compute('d'))
    expect(cache.size).toBe(1) // a new period drops the last one's values
  })
})
