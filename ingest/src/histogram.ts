/**
 * A histogram with fixed upper bounds (seconds): per-bucket counts, sum and count. Kept here rather
 * than in prom-client because the write path records a whole batch (one value, n points) at once;
 * exposed through runtime's `readHistogram`.
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
}

/** Write and acknowledgement durations: milliseconds to tens of seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
/** Sample time to write: up to the hours a spooled outage can last. */
export const LAG_BUCKETS_S = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400]
