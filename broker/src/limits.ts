import { Transform, type TransformCallback } from 'node:stream'

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

/**
 * Sits between a socket and aedes and reads only MQTT fixed headers: a packet whose declared length
 * exceeds `maxPacketBytes` ends the connection before its body is buffered, so one client cannot make
 * the broker hold a 256 MB packet in memory.
 */
export class PacketSizeGuard extends Transform {
  private remaining = 0 // body bytes of the current packet still to pass through
  private header: number[] = [] // fixed header bytes read so far (type byte + length varint)

  constructor(
    private readonly maxPacketBytes: number,
    private readonly onOversize: (declaredBytes: number) => void,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        continue
      }
      const byte = chunk[i++] as number
      this.header.push(byte)
      if (this.header.length === 1) continue
      if (byte & 0x80 && this.header.length < 5) continue
      let length = 0
      for (let k = this.header.length - 1; k >= 1; k--)
        length = length * 128 + ((this.header[k] as number) & 0x7f)
      this.header = []
      if (length > this.maxPacketBytes) {
        this.onOversize(length)
        done(new Error(`packet of ${length} bytes exceeds the ${this.maxPacketBytes}-byte limit`))
        return
      }
      this.remaining = length
    }
    done(null, chunk)
  }
}
