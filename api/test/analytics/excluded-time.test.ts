import { describe, expect, test } from 'vitest'
import { parseExcludedTime } from '../../src/analytics/excluded-time.ts'

describe('excluded-time file', () => {
  test('windows with ISO or epoch times, optionally for one station', () => {
    const text = JSON.stringify([
      {
        site: 'beibei',
        from: '2025-03-25T02:00:00+08:00',
        to: '2025-03-25T04:00:00+08:00',
        reason: 'maintenance',
      },
      {
        site: 'beibei',
        station: 'kc-ac',
        from: 1_742_900_000_000,
        to: 1_742_903_600_000,
        reason: 'grid_outage',
      },
    ])
    expect(parseExcludedTime(text)).toEqual([
      {
        site: 'beibei',
        from: Date.parse('2025-03-25T02:00:00+08:00'),
        to: Date.parse('2025-03-25T04:00:00+08:00'),
        reason: 'maintenance',
      },
      {
        site: 'beibei',
        station: 'kc-ac',
        from: 1_742_900_000_000,
        to: 1_742_903_600_000,
        reason: 'grid_outage',
      },
    ])
  })

  test('a bad entry is refused with where it is', () => {
    const one = (entry: object) => () => parseExcludedTime(JSON.stringify([entry]))
    const ok = { site: 'beibei', from: 1_000, to: 2_000, reason: 'maintenance' }
    expect(() => parseExcludedTime('{}')).toThrow(/JSON array/)
    expect(one({ ...ok, site: 'Bad Site' })).toThrow(/entry 0: site/)
    expect(one({ ...ok, from: '2025-03-25T02:00:00' })).toThrow(/entry 0: from must be/)
    expect(one({ ...ok, to: 500 })).toThrow(/ends before it starts/)
    expect(one({ ...ok, reason: 'holiday' })).toThrow(/entry 0: reason/)
    expect(one({ ...ok, station: '../x' })).toThrow(/entry 0: station/)
  })
})
