import { describe, expect, test } from 'vitest'
import {
  createLocalTime,
  fromWallTime,
  localParts,
  toWallTime,
  zoneOffsetMs,
} from '../../src/site/local-time.ts'

describe('site local time', () => {
  test('Chongqing runs 8 h ahead of UTC all year; New York changes with daylight saving', () => {
    expect(zoneOffsetMs(Date.UTC(2025, 0, 15, 3, 7, 11), 'Asia/Shanghai')).toBe(8 * 3_600_000)
    expect(zoneOffsetMs(Date.UTC(2025, 6, 15, 3), 'Asia/Shanghai')).toBe(8 * 3_600_000)
    expect(zoneOffsetMs(Date.UTC(2025, 0, 15), 'America/New_York')).toBe(-5 * 3_600_000)
    expect(zoneOffsetMs(Date.UTC(2025, 6, 15), 'America/New_York')).toBe(-4 * 3_600_000)
  })

  test('wall times convert both ways, as an ISO string with an explicit offset would', () => {
    expect(fromWallTime('2025-07-01', 'Asia/Shanghai')).toBe(Date.parse('2025-07-01T00:00:00+08:00'))
    expect(fromWallTime('2025-07-01T13:45', 'Asia/Shanghai')).toBe(Date.parse('2025-07-01T13:45:00+08:00'))
    expect(fromWallTime('2025-07-01T13:45:30', 'America/New_York')).toBe(
      Date.parse('2025-07-01T13:45:30-04:00'),
    )
    expect(fromWallTime('not a time', 'Asia/Shanghai')).toBeNaN()
    const ms = Date.parse('2025-03-25T04:05:06Z')
    expect(toWallTime(ms, 'Asia/Shanghai')).toBe('2025-03-25T12:05:06')
    expect(fromWallTime(toWallTime(ms, 'America/New_York'), 'America/New_York')).toBe(ms)
  })

  test('localParts and the cached simulator clock agree on the hour and month', () => {
    const local = createLocalTime('Asia/Shanghai')
    for (let ms = Date.UTC(2025, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 7 * 3_600_000 + 60_000) {
      const p = localParts(ms, 'Asia/Shanghai')
      const t = local(ms)
      expect(Math.floor(t.hour)).toBe(p.hour)
      expect(t.month).toBe(p.month)
    }
  })
})
