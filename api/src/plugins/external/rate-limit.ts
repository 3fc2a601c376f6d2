import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { ApiConfig } from '../../config.ts'
import { rateLimited } from '../../errors.ts'

/** One client's budget in the current window. */
interface Window {
  count: number
  resetAt: number
}

/** What a request may do: `allowed` false means answer 429; the rest goes in the rate-limit headers. */
export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Seconds until the window of this key resets (at least 1 while it runs). */
  resetS: number
}

/**
 * Fixed-window request counting per key, as @fastify/rate-limit's local store does it (a key's window
 * starts at its first request and lasts `windowMs`), but synchronous: one map lookup per request and no
 * promises. At most `maxKeys` keys are held (5,000, as in the plugin's store): a flood of addresses
 * cannot grow memory without bound, it only forgets the oldest windows.
 */
export class RateLimiter {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 5_000,
  ) {}

  /** Counts one request of `key` at `now` against `limit` requests per window. */
  take(key: string, limit: number, now: number): RateDecision {
    let window = this.windows.get(key)
    if (window === undefined || window.resetAt <= now) {
      if (window !== undefined) this.windows.delete(key)
      else if (this.windows.size >= this.maxKeys) this.evict(now)
      window = { count: 0, resetAt: now + this.windowMs }
      this.windows.set(key, window)
    }
    window.count++
    return {
      allowed: window.count <= limit,
      limit,
      remaining: Math.max(0, limit - window.count),
      resetS: Math.ceil((window.resetAt - now) / 1000),
    }
  }

  /** Keys currently held (for tests and the memory bound). */
  get size(): number {
    return this.windows.size
  }

  /**
   * Windows all last `windowMs` and a key's new window goes to the back, so the map is ordered by
   * reset time: dropping from the front removes the expired windows first, then the oldest ones.
   */
  private evict(now: number): void {
    for (const [key, window] of this.windows) {
      if (window.resetAt > now && this.windows.size < this.maxKeys) break
      this.windows.delete(key)
    }
  }
}

/**
 * Rate limits on every route: per valid token (its own, larger budget) on protected routes, per
 * address for anything else, so inventing tokens does not buy more requests. One synchronous map
 * lookup per request (see RateLimiter). Added to every route as @fastify/rate-limit did, after the
 * route's own onRequest hooks; routes registered before this is set up are not limited.
 */
export function setupRateLimit(
  app: FastifyInstance,
  config: Readonly<Pick<ApiConfig, 'tokenRateLimitPerMin' | 'publicRateLimitPerMin'>>,
  validTokenHash: (request: FastifyRequest) => string | null,
): void {
  const limiter = new RateLimiter(60_000)
  const rateLimit: onRequestHookHandler = (request, reply, done) => {
    const hash = validTokenHash(request)
    const { allowed, limit, remaining, resetS } = limiter.take(
      hash !== null ? `t:${hash}` : `a:${request.ip}`,
      hash !== null ? config.tokenRateLimitPerMin : config.publicRateLimitPerMin,
      Date.now(),
    )
    reply.header('x-ratelimit-limit', limit).header('x-ratelimit-remaining', remaining)
    reply.header('x-ratelimit-reset', resetS)
    if (allowed) return done()
    reply.header('retry-after', resetS)
    done(rateLimited(`rate limit of ${limit} requests per minute exceeded, retry in ${resetS} s`))
  }
  app.addHook('onRoute', (route) => {
    route.onRequest = [...(route.onRequest === undefined ? [] : [route.onRequest].flat()), rateLimit]
  })
}
