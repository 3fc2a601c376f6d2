import type { LiveView } from '@evmon/contracts'
import { describe, expect, test, vi } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../../test/fixtures.ts'
import { LiveState } from './live-state.ts'
import { AnswerCache, createLiveViews } from './live-view.ts'

const T0 = 1_742_869_800_000
const STALE_AFTER_MS = 3_000
const parse = (body: Buffer) => JSON.parse(body.toString('utf8')) as LiveView

function setup() {
  const state = new LiveState(STALE_AFTER_MS)
  let now = T0
  const views = createLiveViews(
    state,
    () => now,
    () => 1_000_000,
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

describe('live view cache', () => {
  test('repeated requests at the same state version reuse the serialised answer', () => {
    const { views, snapshots } = setup()
    const first = views.json({ site: 'beibei' })
    expect(views.json({ site: 'beibei' })).toBe(first)
    expect(views.json({ site: 'beibei' }, 'sites')).not.toBe(first)
    expect(snapshots).toHaveBeenCalledTimes(2)
  })

  test('a message that changes the state invalidates the cached answer at once, whatever the clock', () => {
    const { views, publish, power, snapshots } = setup()
    expect(power(views.json({ site: 'beibei' }))).toBe(100_000)
    expect(power(views.json({}))).toBe(100_000)
    publish('beibei', 'zn-super', 250_000, T0 + 1) // newer sample, received at the same (frozen) clock
    expect(power(views.json({ site: 'beibei' }))).toBe(250_000)
    expect(parse(views.json({})).stations.map((s: { site: string }) => s.site)).toEqual(['beibei', 'other'])
    expect(power(views.json({ station: 'zn-super' }))).toBe(250_000)
    expect(snapshots).toHaveBeenCalledTimes(5)
  })

  test('a message at another site leaves a site answer cached; the unfiltered answer is recomputed', () => {
    const { views, publish, snapshots } = setup()
    const beibei = views.json({ site: 'beibei' })
    views.json({})
    publish('other', 'zn-super', 300_000, T0 + 1)
    expect(views.json({ site: 'beibei' })).toBe(beibei)
    expect(parse(views.json({})).stations[1]?.connectors[0]?.power_w).toBe(300_000)
    expect(snapshots).toHaveBeenCalledTimes(3)
  })

  test('a station turning stale invalidates the answer, and no answer outlives 500 ms', () => {
    const { views, setNow } = setup()
    setNow(T0 + STALE_AFTER_MS - 100)
    const fresh = parse(views.json({ site: 'beibei' }))
    expect(fresh.stations[0]?.stale).toBe(false)
    setNow(T0 + STALE_AFTER_MS + 1) // 101 ms later: within the 500 ms, but the station went stale
    const stale = parse(views.json({ site: 'beibei' }))
    expect(stale.stations[0]?.stale).toBe(true)
    expect(stale.ts).toBe(T0 + STALE_AFTER_MS + 1)
    setNow(T0 + STALE_AFTER_MS + 400)
    expect(parse(views.json({ site: 'beibei' })).ts).toBe(T0 + STALE_AFTER_MS + 1)
    setNow(T0 + STALE_AFTER_MS + 501)
    expect(parse(views.json({ site: 'beibei' })).ts).toBe(T0 + STALE_AFTER_MS + 501)
  })

  test('the answer cache serves an entry only at its version, before its deadline, and stays bounded', () => {
    const cache = new AnswerCache(2)
    let computed = 0
    const compute =
      (text: string, until = Number.POSITIVE_INFINITY) =>
      () => {
        computed++
        return { text, until }
      }
    expect(String(cache.get('a', 1, 10, compute('a1')))).toBe('a1')
    expect(String(cache.get('a', 1, 11, compute('unused')))).toBe('a1')
    expect(String(cache.get('a', 2, 11, compute('a2')))).toBe('a2')
    expect(String(cache.get('a', 2, 5, compute('a2-earlier')))).toBe('a2-earlier') // the clock went back
    expect(String(cache.get('b', 1, 10, compute('b1', 20)))).toBe('b1')
    expect(String(cache.get('b', 1, 20, compute('b1-late')))).toBe('b1-late')
    expect(computed).toBe(5)
    cache.get('c', 1, 10, compute('c1'))
    expect(cache.size).toBeLessThanOrEqual(2)
  })
})
