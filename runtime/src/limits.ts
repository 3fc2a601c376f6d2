// Rate and failure limits any service facing stations or chargers applies (the broker to MQTT clients,
// the gateway to OCPP chargers): pure, clock passed in, so they are tested without waiting.

/** Token bucket: `ratePerS` sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number
  private last: number
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst
    this.last = now
  }

  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerS)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/**
 * Counts failed logins per key (remote address, username) in a sliding window and refuses further
 * attempts once `maxFailures` is reached, until the window has passed: password guessing gets a few
 * tries a minute, while a legitimate reconnect storm (which authenticates fine) is never slowed.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>()
  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  blocked(key: string, now: number): boolean {
    const recent = this.prune(key, now)
    return recent.length >= this.maxFailures
  }

  fail(key: string, now: number): void {
    const recent = this.prune(key, now)
    recent.push(now)
    this.failures.set(key, recent)
  }

  private prune(key: string, now: number): number[] {
    const recent = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs)
    if (recent.length === 0) this.failures.delete(key)
    else this.failures.set(key, recent)
    return recent
  }
}
