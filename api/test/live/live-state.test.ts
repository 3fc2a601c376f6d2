import { LiveSnapshot } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, test } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'

const T0 = 1_742_869_800_000
const PERIOD_MS = 1_000
const STALE_AFTER_MS = 3 * PERIOD_MS

function stateWithTwoStations(): LiveState {
  const state = new LiveState(STALE_AFTER_MS)
  for (const [station, powerW] of [
    ['zn-super', 450_000],
    ['kc-fast-1', 120_000],
  ] as const) {
    state.apply(decoded('beibei', station, 'meta', stationMeta(station), T0), T0)
    state.apply(decoded('beibei', station, 'online', { online: true, ts: T0 }, T0), T0)
    state.apply(
      decoded(
        'beibei',
        station,
        'telemetry',
        telemetry(T0, 1, [connectorSample(1, powerW), connectorSample(2, 0)]),
        T0,
      ),
      T0,
    )
  }
  return state
}

describe('live state', () => {
  test('a snapshot matches the LiveSnapshot contract and lists stations sorted by id', () => {
    const snapshot = stateWithTwoStations().snapshot(T0 + 500)
    expect(Value.Errors(LiveSnapshot, snapshot).First()).toBeUndefined()
    expect(snapshot.stations.map((s) => s.station)).toEqual(['kc-fast-1', 'zn-super'])
    expect(snapshot.ts).toBe(T0 + 500)
  })

  test('a station combines its description, online flag and latest telemetry', () => {
    const station = stateWithTwoStations()
      .snapshot(T0)
      .stations.find((s) => s.station === 'zn-super')
    expect(station).toMatchObject({
      site: 'beibei',
      name: 'zn-super',
      cooling: 'liquid',
      cabinet_max_power_w: 480_000,
      online: true,
      stale: false,
      last_ts: T0,
      grid_power_w: 452_000,
      aux_power_w: 2_000,
    })
    expect(station?.connectors[0]).toMatchObject({
      id: 1,
      kind: 'dc',
      max_power_w: 480_000,
      liquid_cooled: true,
      status: 'Charging',
      error_code: null,
      power_w: 450_000,
    })
    expect(station?.connectors[1]).toMatchObject({
      id: 2,
      liquid_cooled: false,
      status: 'Available',
      soc_pct: null,
    })
  })

  test('a liquid-cooled gun carries its gun and coolant temperatures from telemetry', () => {
    const state = stateWithTwoStations()
    const sample = telemetry(T0 + 1_000, 2, [
      connectorSample(1, 450_000, { temp_c: 62, coolant_c: 38.4 }),
      connectorSample(2, 0),
    ])
    state.apply(decoded('beibei', 'zn-super', 'telemetry', sample, T0 + 1_000), T0 + 1_000)
    const snapshot = state.snapshot(T0 + 1_000, { station: 'zn-super' })
    expect(Value.Errors(LiveSnapshot, snapshot).First()).toBeUndefined()
    const [gun, air] = snapshot.stations[0]?.connectors ?? []
    expect(gun).toMatchObject({ id: 1, liquid_cooled: true, temp_c: 62, coolant_c: 38.4 })
    expect(air).toMatchObject({ id: 2, temp_c: null, coolant_c: null })
  })

  test('site power sums the grid power of online, fresh stations', () => {
    const state = stateWithTwoStations()
    expect(state.snapshot(T0).site_power_w).toBe(452_000 + 122_000)
    state.apply(decoded('beibei', 'kc-fast-1', 'online', { online: false }, T0), T0 + 100)
    expect(state.snapshot(T0 + 100).site_power_w).toBe(452_000)
  })

  test('a station without telemetry for three sample periods turns stale and leaves site power', () => {
    const state = stateWithTwoStations()
    const later = T0 + STALE_AFTER_MS + 1
    state.apply(
      decoded('beibei', 'zn-super', 'telemetry', telemetry(later, 2, [connectorSample(1, 300_000)]), later),
      later,
    )
    const snapshot = state.snapshot(later)
    expect(snapshot.stations.map((s) => [s.station, s.stale])).toEqual([
      ['kc-fast-1', true],
      ['zn-super', false],
    ])
    expect(snapshot.site_power_w).toBe(302_000)
    expect(state.staleCount(later)).toBe(1)
  })

  test('a station that has just come online is given three sample periods to send telemetry', () => {
    // As at the API's start: the retained description and online flag arrive before any telemetry.
    const state = new LiveState(STALE_AFTER_MS)
    state.apply(decoded('beibei', 'kc-ac', 'meta', stationMeta('kc-ac'), T0), T0)
    state.apply(decoded('beibei', 'kc-ac', 'online', { online: true, ts: T0 }, T0), T0)
    expect(state.scan(T0 + STALE_AFTER_MS).stale).toEqual([])
    expect(state.scan(T0 + STALE_AFTER_MS + 1).stale).toEqual([
      { site: 'beibei', station: 'kc-ac', lastTs: null },
    ])
    // Back online after an outage: the time it was away does not count against it.
    const back = T0 + 60_000
    state.apply(decoded('beibei', 'kc-ac', 'online', { online: false }, T0), back - 1_000)
    state.apply(decoded('beibei', 'kc-ac', 'online', { online: true, ts: back }, T0), back)
    expect(state.snapshot(back + 1).stations[0]?.stale).toBe(false)
    expect(state.snapshot(back + STALE_AFTER_MS + 1).stations[0]?.stale).toBe(true)
  })

  test('staleness follows our receive time, not the station clock', () => {
    const state = new LiveState(STALE_AFTER_MS)
    const skewedTs = T0 - 60_000
    state.apply(decoded('beibei', 'kc-ac', 'telemetry', telemetry(skewedTs, 1, []), T0), T0)
    expect(state.snapshot(T0 + 1).stations[0]?.stale).toBe(false)
  })

  test('an older telemetry sample redelivered after a newer one changes nothing', () => {
    const state = stateWithTwoStations()
    const newer = telemetry(T0 + 2_000, 3, [connectorSample(1, 200_000)])
    const older = telemetry(T0 + 1_000, 2, [connectorSample(1, 100_000)])
    state.apply(decoded('beibei', 'zn-super', 'telemetry', newer, T0), T0 + 2_000)
    const version = state.version
    expect(state.apply(decoded('beibei', 'zn-super', 'telemetry', older, T0), T0 + 2_100)).toBe(false)
    expect(state.version).toBe(version)
    expect(state.snapshot(T0 + 2_100, { station: 'zn-super' }).stations[0]?.connectors[0]?.power_w).toBe(
      200_000,
    )
  })

  test('the newer of a status event and a telemetry sample sets a connector status', () => {
    const state = stateWithTwoStations()
    const fault = { ts: T0 + 500, connector: 2, status: 'Faulted', error_code: 'GroundFailure' } as const
    state.apply(decoded('beibei', 'zn-super', 'status', fault, T0), T0 + 500)
    const faulted = state.snapshot(T0 + 500, { station: 'zn-super' }).stations[0]?.connectors[1]
    expect(faulted).toMatchObject({ status: 'Faulted', error_code: 'GroundFailure' })

    const next = telemetry(T0 + 1_000, 2, [connectorSample(1, 450_000), connectorSample(2, 0)])
    state.apply(decoded('beibei', 'zn-super', 'telemetry', next, T0), T0 + 1_000)
    expect(state.snapshot(T0 + 1_000, { station: 'zn-super' }).stations[0]?.connectors[1]?.status).toBe(
      'Available',
    )
  })

  test('filters narrow a snapshot to one site or one station', () => {
    const state = stateWithTwoStations()
    state.apply(decoded('other-site', 'zn-super', 'meta', stationMeta('elsewhere'), T0), T0)
    expect(state.snapshot(T0, { site: 'other-site' }).stations.map((s) => s.name)).toEqual(['elsewhere'])
    expect(state.snapshot(T0, { station: 'zn-super' }).stations.map((s) => s.site)).toEqual([
      'beibei',
      'other-site',
    ])
    expect(state.snapshot(T0, { site: 'nowhere' })).toMatchObject({ site_power_w: 0, stations: [] })
    expect(state.sitesOf('zn-super')).toEqual(['beibei', 'other-site'])
  })

  test('a station known only from telemetry has nulls where its description would be', () => {
    const state = new LiveState(STALE_AFTER_MS)
    state.apply(
      decoded('beibei', 'kc-ac', 'telemetry', telemetry(T0, 1, [connectorSample(3, 7_000)]), T0),
      T0,
    )
    const [station] = state.snapshot(T0).stations
    expect(station).toMatchObject({ name: null, cooling: null, cabinet_max_power_w: null, online: false })
    expect(station?.connectors[0]).toMatchObject({ id: 3, kind: null, max_power_w: null, power_w: 7_000 })
    expect(state.summaries()).toEqual([])
  })

  test('station summaries list described stations with their online flag', () => {
    const state = stateWithTwoStations()
    state.apply(decoded('beibei', 'kc-fast-1', 'online', { online: false }, T0), T0)
    expect(state.summaries().map((s) => [s.id, s.online])).toEqual([
      ['kc-fast-1', false],
      ['zn-super', true],
    ])
  })

  test('forgetting a station removes it from snapshots and summaries', () => {
    const state = stateWithTwoStations()
    expect(state.forget('beibei', 'kc-fast-1')).toBe(true)
    expect(state.snapshot(T0).stations.map((s) => s.station)).toEqual(['zn-super'])
    expect(state.forget('beibei', 'kc-fast-1')).toBe(false)
  })
})
