/** Size and time limits of a batch, and how many may be written at once. */
export interface BatcherOptions<T> {
  /** A batch is sealed as soon as it holds this many points. */
  batchSizePoints: number
  /**
   * A partial batch is sealed this long after its first entry arrived, if a write slot is free then;
   * otherwise it keeps filling until one is (see {@link Batcher}).
   */
  flushIntervalMs: number
  /** Batches handed to `write` at the same time. */
  maxConcurrentWrites: number
  /**
   * Writes one batch. It owns retries and must settle only when it is done with the batch; a
   * rejection is reported through `onWriteError` and the batch counts as finished.
   */
  write(entries: T[]): Promise<void>
  onWriteError?(error: unknown): void
  /** Called after each batch is written and no longer counted as pending. */
  onBatchSettled?(): void
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
}

/**
 * Groups entries (each carrying the points of one message) into batches of about `batchSizePoints`
 * points, sealed by size or by `flushIntervalMs`, and writes at most `maxConcurrentWrites` at a time.
 * The entries of a message are never split across batches, so a batch may exceed the size by the
 * points of one message. Sealed batches wait in order while the write slots are busy.
 *
 * Group commit: a partial batch whose interval has passed is sealed only when a write slot is free;
 * while every slot is busy it keeps filling and is sealed as soon as one frees. A short interval thus
 * gives low latency when writes keep up, and batches still grow with the load when they do not,
 * instead of queueing many small ones.
 */
export class Batcher<T> {
  private open: T[] = []
  private openPoints = 0
  private timer: unknown = undefined
  /** The open batch's interval has passed: it is sealed as soon as a write slot is free. */
  private due = false
  private readonly sealed: { entries: T[]; points: number }[] = []
  private inFlight = 0
  private inFlightPoints = 0
  private idleWaiters: (() => void)[] = []
  private readonly setTimer: (fn: () => void, ms: number) => unknown
  private readonly clearTimer: (handle: unknown) => void

  constructor(private readonly options: BatcherOptions<T>) {
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms))
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout))
  }

  /** Points accepted but not yet written (open, sealed and in-flight batches). */
  get pendingPoints(): number {
    return this.openPoints + this.sealed.reduce((n, b) => n + b.points, 0) + this.inFlightPoints
  }

  /** Adds the entry of one message with its point count. */
  add(entry: T, points: number): void {
    this.open.push(entry)
    this.openPoints += points
    if (this.openPoints >= this.options.batchSizePoints) {
      this.seal()
    } else if (this.timer === undefined && !this.due) {
      this.timer = this.setTimer(() => {
        this.timer = undefined
        this.due = true
        this.sealIfDue()
      }, this.options.flushIntervalMs)
    }
  }

  /** Seals the open batch now and resolves once every batch has been written. */
  flush(): Promise<void> {
    this.seal()
    if (this.inFlight === 0 && this.sealed.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.push(resolve))
  }

  private sealIfDue(): void {
    if (this.due && this.inFlight + this.sealed.length < this.options.maxConcurrentWrites) this.seal()
  }

  private seal(): void {
    this.due = false
    if (this.timer !== undefined) {
      this.clearTimer(this.timer)
      this.timer = undefined
    }
    if (this.open.length > 0) {
      this.sealed.push({ entries: this.open, points: this.openPoints })
      this.open = []
      this.openPoints = 0
    }
    this.dispatch()
  }

  private dispatch(): void {
    while (this.inFlight < this.options.maxConcurrentWrites && this.sealed.length > 0) {
      const batch = this.sealed.shift() as { entries: T[]; points: number }
      this.inFlight++
      this.inFlightPoints += batch.points
      this.options
        .write(batch.entries)
        .catch((err: unknown) => this.options.onWriteError?.(err))
        .finally(() => {
          this.inFlight--
          this.inFlightPoints -= batch.points
          this.dispatch()
          this.sealIfDue()
          this.options.onBatchSettled?.()
          if (this.inFlight === 0 && this.sealed.length === 0) {
            const waiters = this.idleWaiters
            this.idleWaiters = []
            for (const resolve of waiters) resolve()
          }
        })
    }
  }
}
