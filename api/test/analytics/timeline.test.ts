import { describe, expect, test } from 'vitest'
import {
  buckets,
  connectorStateTime,
  mergeWindows,
  type ConnectorHistory,
} from '../../src/analytics/timeline.ts'

const H = 3_600_000
const T0 = Date.parse('2025-03-25T00:00:00+08:00') // local midnight in Chongqing

describe('buckets', () => {
  test('local hours and days of a window, labelled like the InfluxDB rows', () => {
    const hours = buckets('hour', T0 + 30 * 60_000, T0 + 3 * H, 'Asia/Shanghai')
    expect(hours.map((b) => b.label)).toEqual(['00', '01', '02'])
    expect(hours[0]).toEqual({ from: T0 + 30 * 60_000, to: T0 + H, label: '00' })
    const days = buckets('day', T0 - 2 * H, T0 + 30 * H, 'Asia/Shanghai')
    expect(days.map((b) => [b.label, b.to - b.from])).toEqual([
      ['2025-03-24', 2 * H],
      ['2025-03-25', 24 * H],
      ['2025-03-26', 6 * H],
    ])
  })

  test('a local day across a daylight-saving change is 23 hours long', () => {
    const midnight = Date.parse('2025-03-30T00:00:00+01:00') // Berlin springs forward at 02:00
    const [day] = buckets('day', midnight, midnight + 23 * H, 'Europe/Berlin')
    expect(day).toEqual({ from: midnight, to: midnight + 23 * H, label: '2025-03-30' })
  })
})

describe('connector state time', () => {
  const whole = [{ from: T0, to: T0 + 4 * H, label: null }]
  const none: ConnectorHistory = { before: null, changes: [], firstSample: null }

  test('the state before the window is carried in, and an outage across the start counts from it', () => {
    const [t] = connectorStateTime(
      { before: 'Available', changes: [{ t: T0 + H, status: 'Charging' }], firstSample: null },
      { before: false, changes: [{ t: T0 + 2 * H, online: true }] },
      T0,
      T0 + 4 * H,
      whole,
      [],
    )
    expect(t).toEqual({
      periodMs: 4 * H,
      occupiedMs: 3 * H,
      chargingMs: 3 * H,
      outageMs: 2 * H,
      excludedMs: 0,
    })
  })

  test('without an earlier state, counting starts at the first event or sample; SuspendedEVSE is down', () => {
    const [t] = connectorStateTime(
      {
        before: null,
        changes: [
          { t: T0 + 2 * H, status: 'SuspendedEVSE' },
          { t: T0 + 3 * H, status: 'Charging' },
        ],
        firstSample: { t: T0 + H, status: 'Preparing' },
      },
      { before: null, changes: [] },
      T0,
      T0 + 4 * H,
      whole,
      [],
    )
    expect(t).toEqual({ periodMs: 3 * H, occupiedMs: 3 * H, chargingMs: H, outageMs: H, excludedMs: 0 })
    expect(connectorStateTime(none, { before: null, changes: [] }, T0, T0 + H, whole, [])[0]?.periodMs).toBe(
      0,
    )
  })

  test('only outage inside excluded windows is excluded; overlapping windows count once', () => {
    const excluded = mergeWindows([
      { from: T0 + H, to: T0 + 3 * H, reason: 'maintenance' },
      { from: T0 + 2 * H, to: T0 + 5 * H, reason: 'grid_outage' },
    ])
    expect(excluded).toEqual([[T0 + H, T0 + 5 * H]])
    const [t] = connectorStateTime(
      { before: 'Faulted', changes: [{ t: T0 + 2 * H, status: 'Available' }], firstSample: null },
      { before: true, changes: [] },
      T0,
      T0 + 4 * H,
      whole,
      excluded,
    )
    expect(t).toMatchObject({ outageMs: 2 * H, excludedMs: H })
  })
})
