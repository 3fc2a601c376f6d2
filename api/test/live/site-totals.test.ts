import { describe, expect, test } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'
import { auxLoadByHour, siteTotals } from '../../src/live/site-totals.ts'

const T0 = 1_742_869_800_000 // 10:30 in Chongqing
const STALE_AFTER_MS = 3_000
const LOUNGE_KW = Array.from({ length: 24 }, (_, h) => h) // h kW at local hour h: easy to check

/** Two stations: `up` keeps sending, `down` sent once and then lost its link. */
function stations(now: number) {
  const state = new LiveState(STALE_AFTER_MS)
  for (const [station, powerW] of [
    ['up', 100_000],
    ['down', 250_000],
  ] as const) {
    state.apply(decoded('beibei', station, 'meta', stationMeta(station), T0), T0)
    state.apply(decoded('beibei', station, 'online', { online: true, ts: T0 }, T0), T0)
    state.apply(
      decoded('beibei', station, 'telemetry', telemetry(T0, 1, [connectorSample(1, powerW)], 2_000), T0),
      T0,
    )
  }
  state.apply(decoded('beibei', 'down', 'online', { online: false }, T0 + 1_000), T0 + 1_000)
  state.apply(
    decoded('beibei', 'up', 'telemetry', telemetry(now, 2, [connectorSample(1, 100_000)], 2_000), now),
    now,
  )
  return state.snapshot(now).stations
}

describe('site totals', () => {
  test('an offline station counts at its last known load, flagged as stale power, and the lounge is added', () => {
    const now = T0 + 10_000
    const aux = auxLoadByHour(
      () => LOUNGE_KW,
      () => 'Asia/Shanghai',
    )
    const [totals] = siteTotals(stations(now), () => 1_000_000, { loadW: aux, now })
    const lounge = 10_000 // 10 kW at 10:xx local
    expect(totals).toMatchObject({
      power_w: 102_000 + 252_000 + lounge,
      stale_power_w: 252_000,
      aux_power_w: lounge,
      headroom_w: 1_000_000 - (102_000 + 252_000 + lounge),
      online_stations: 1,
      connectors: { Charging: 1, Offline: 2 },
    })
  })

  test('the aux load follows the local hour', () => {
    const aux = auxLoadByHour(
      () => LOUNGE_KW,
      () => 'Asia/Shanghai',
    )
    expect(aux('beibei', T0)).toBe(10_000)
    expect(aux('beibei', T0 + 3_600_000)).toBe(11_000)
    expect(
      auxLoadByHour(
        () => null,
        () => 'UTC',
      )('x', T0),
    ).toBe(0)
  })
})
