/**
 * A Prometheus histogram with fixed upper bounds (seconds): cumulative bucket counts, sum and count.
 */
export class Histogram {
  readonly counts: number[]
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0)
  }

  /** Records `value` (seconds) `times` times. */
  observe(value: number, times = 1): void {
    this.sum += value * times
    this.count += times
    const i = this.bounds.findIndex((b) => value <= b)
    if (i >= 0) this.counts[i] = (this.counts[i] as number) + times
  }

  /** Prometheus text samples: cumulative `_bucket{le}`, `_sum`, `_count`. */
  render(name: string): string[] {
    let cumulative = 0
    const lines = this.bounds.map((b, i) => {
      cumulative += this.counts[i] as number
      return `${name}_bucket{le="${b}"} ${cumulative}`
    })
    lines.push(
      `${name}_bucket{le="+Inf"} ${this.count}`,
      `${name}_sum ${this.sum}`,
      `${name}_count ${this.count}`,
    )
    return lines
  }
}

/** Write and acknowledgement durations: milliseconds to tens of seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Sample time to write: up to the hours a spooled outage can last. */
export const LAG_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400]
