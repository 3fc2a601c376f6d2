import type { BackoffPolicy } from './backoff.ts'
import { writeBatch, type RejectedLine, type WriteAttemptEvents } from './batch-writer.ts'
import { WriteError, type LineWriter } from './line-writer.ts'
import { SpoolFullError, type Spool } from './spool.ts'

/** Where a batch ended up once it is safe to acknowledge. */
export interface StoreOutcome {
  /** Lines now in InfluxDB. */
  written: number
  /** Lines fsync'd into the spool, to be written later. */
  spooled: number
  /** Lines InfluxDB refused even alone. */
  rejected: RejectedLine[]
}

/** What happens to spooled records later, for counters and dead-lettering. */
export interface DrainEvents {
  /** Resolves once the rejected lines are durable in the dead-letter store; the record is consumed after. */
  drained(written: number, rejected: RejectedLine[], oldestTs: number): Promise<void>
}

export interface DurableSinkOptions {
  writer: LineWriter
  spool: Spool
  backoff: BackoffPolicy
  events: WriteAttemptEvents & DrainEvents
  /** Aborting gives up on batches still waiting (they stay unacknowledged). */
  signal: AbortSignal
}

/**
 * Makes a batch safe before its messages are acknowledged: written to InfluxDB, or fsync'd in the
 * spool. A batch goes straight to InfluxDB while the spool is empty; the first retryable failure (5xx,
 * network, timeout) spools it, and from then on every batch is spooled behind it so the spool drains in
 * arrival order, with back-off and jitter, until it is empty again. A data rejection (4xx) is isolated
 * in memory by `writeBatch`, as before. When the spool is full, or the disk fails, a batch waits in
 * memory, unacknowledged, so the broker keeps holding the messages and back-pressure stops reading.
 */
export class DurableSink {
  private spooling: boolean
  private appending = 0
  private draining: Promise<void> | undefined
  private drainRunning = false
  private readonly drainAborter = new AbortController()
  private wakeDrainer: (() => void) | undefined

  constructor(private readonly options: DurableSinkOptions) {
    this.spooling = options.spool.stats().records > 0
    if (this.spooling) this.startDrain()
  }

  /** True while batches go to the spool instead of InfluxDB. */
  get isSpooling(): boolean {
    return this.spooling
  }

  /** Resolves once every line is written, spooled or proven bad; rejects only on abort. */
  async store(lines: string[], oldestTs: number): Promise<StoreOutcome> {
    if (!this.spooling) {
      try {
        await this.options.writer.write(lines, this.options.signal)
        this.options.events.succeeded(lines.length)
        return { written: lines.length, spooled: 0, rejected: [] }
      } catch (err) {
        if (!(err instanceof WriteError)) throw err
        if (!err.retryable) {
          this.options.events.failed(err, lines.length)
          return { spooled: 0, ...(await this.writeInMemory(lines, this.options.signal)) }
        }
        this.options.events.failed(err, lines.length, 0)
      }
    }
    return this.toSpool(lines, oldestTs)
  }

  /** Stops draining; what is left stays on disk for the next start. */
  async close(): Promise<void> {
    this.drainAborter.abort(new Error('ingest is closing'))
    this.wakeDrainer?.()
    await this.draining
  }

  private writeInMemory(lines: readonly string[], signal: AbortSignal) {
    return writeBatch(lines, { ...this.options, signal })
  }

  private async toSpool(lines: string[], oldestTs: number): Promise<StoreOutcome> {
    this.spooling = true
    this.appending++
    try {
      for (;;) {
        try {
          await this.options.spool.append({ lines, oldestTs })
          return { written: 0, spooled: lines.length, rejected: [] }
        } catch (err) {
          // Nothing to drain means no room will ever appear for this batch (or the disk fails):
          // keep it in memory and retry InfluxDB until it takes it.
          if (!(err instanceof SpoolFullError) || this.options.spool.stats().records === 0) {
            return { spooled: 0, ...(await this.writeInMemory(lines, this.options.signal)) }
          }
          await Promise.race([this.options.spool.roomFreed(), aborted(this.options.signal)])
        }
      }
    } finally {
      this.appending--
      this.startDrain()
      this.wakeDrainer?.()
    }
  }

  private startDrain(): void {
    if (this.drainRunning || this.drainAborter.signal.aborted) return
    this.drainRunning = true
    this.draining = this.drain().catch(() => {
      this.drainRunning = false
      // Aborted at close: the record stays on disk for the next start. Anything else (the disk
      // failing a read) is tried again later rather than leaving the spool stalled.
      if (!this.drainAborter.signal.aborted)
        setTimeout(() => this.startDrain(), this.options.backoff.maxMs).unref()
    })
  }

  private async drain(): Promise<void> {
    const { spool, events } = this.options
    const signal = this.drainAborter.signal
    for (;;) {
      signal.throwIfAborted()
      const record = await spool.peek()
      if (!record) {
        if (spool.stats().records > 0) continue
        // Checked in the same tick as `records`, so an append cannot slip in between.
        if (this.appending === 0) {
          this.spooling = false
          this.drainRunning = false
          return
        }
        await new Promise<void>((resolve) => (this.wakeDrainer = resolve))
        this.wakeDrainer = undefined
        continue
      }
      const result = await writeBatch(record.lines, { ...this.options, signal })
      await events.drained(result.written, result.rejected, record.oldestTs)
      await spool.shift()
    }
  }
}

/** Rejects with the signal's reason once it is aborted. */
export function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason)
    signal.addEventListener('abort', () => reject(signal.reason), { once: true })
  })
}
