import { describe, expect, test } from 'vitest'
import { RateLimiter } from '../../../src/plugins/external/rate-limit.ts'

describe('RateLimiter', () => {
  test('allows `limit` requests per key in a window, then refuses until the window ends', () => {
    const limiter = new RateLimiter(60_000)
    const t0 = 1_000_000
    for (let i = 1; i <= 3; i++)
      expect(limiter.take('a', 3, t0)).toEqual({ allowed: true, limit: 3, remaining: 3 - i, resetS: 60 })
    expect(limiter.take('a', 3, t0 + 30_000)).toEqual({ allowed: false, limit: 3, remaining: 0, resetS: 30 })
    // Another key has its own budget.
    expect(limiter.take('b', 3, t0 + 30_000)).toMatchObject({ allowed: true, remaining: 2 })
    // The window of `a` started at its first request: it ends 60 s later, and a new one starts.
    expect(limiter.take('a', 3, t0 + 59_999)).toMatchObject({ allowed: false, resetS: 1 })
    expect(limiter.take('a', 3, t0 + 60_000)).toEqual({ allowed: true, limit: 3, remaining: 2, resetS: 60 })
  })

  test('holds at most maxKeys keys: expired windows go first, then the oldest', () => {
    const limiter = new RateLimiter(1_000, 3)
    limiter.take('old', 1, 0)
    limiter.take('x', 1, 500)
    limiter.take('y', 1, 600)
    // `old` has expired at 1,000: it makes room, and x and y keep their counts.
    limiter.take('z', 1, 1_000)
    expect(limiter.size).toBe(3)
    expect(limiter.take('x', 1, 1_001).allowed).toBe(false)
    // Nothing expired: the oldest window (x's) is dropped for a new key, so x starts afresh.
    limiter.take('w', 1, 1_200)
    expect(limiter.size).toBe(3)
    expect(limiter.take('z', 1, 1_300).allowed).toBe(false)
    expect(limiter.take('w', 1, 1_300).allowed).toBe(false)
    expect(limiter.take('x', 1, 1_300).allowed).toBe(true)
  })
})
