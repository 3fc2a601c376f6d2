import { decodeMessage, messageToPoints, toLine } from '@evmon/contracts'
import type { AckTicket } from './ack-queue.ts'
import type { BackoffPolicy } from './backoff.ts'
import { writeBatch, type WriteAttemptEvents } from './batch-writer.ts'
import { Batcher } from './batcher.ts'
import type { DeadLetter } from './dead-letter.ts'
import type { LineWriter } from './line-writer.ts'
import { rateLimited, type Logger } from './log.ts'
import { zeroRejects, type IngestRejectReason } from './metrics.ts'
import { RegisterGuard } from './register-guard.ts'

/** Reason recorded with the lines InfluxDB refused. */
const WRITE_REJECTED = 'write_rejected'

const LOG_INTERVAL_MS = 10_000

export interface PipelineOptions {
  writer: LineWriter
  deadLetter: DeadLetter
  logger: Logger
  batchSizePoints: number
  flushIntervalMs: number
  maxConcurrentWrites: number
  maxPendingPoints: number
  backoff: BackoffPolicy
}

/** Counters the pipeline itself keeps (see `IngestStats` for their meaning). */
export interface PipelineCounters {
  messagesReceived: number
  messagesRejected: Record<IngestRejectReason, number>
  pointsWritten: number
  pointsDeadLettered: number
  writeErrors: number
  batchesWritten: number
  lastWriteOk: boolean | null
}

interface Entry {
  lines: string[]
  ticket: AckTicket
}

/**
 * From one MQTT message to acknowledged points: decode and validate against the contract, refuse
 * backwards energy registers, serialise with `toLine`, batch, write, and only then ack. Every refusal
 * is counted by reason, logged (rate-limited) and dead-lettered, and acked: redelivering it would not
 * make it valid.
 */
export class Pipeline {
  readonly counters: PipelineCounters = {
    messagesReceived: 0,
    messagesRejected: zeroRejects(),
    pointsWritten: 0,
    pointsDeadLettered: 0,
    writeErrors: 0,
    batchesWritten: 0,
    lastWriteOk: null,
  }
  private readonly guard = new RegisterGuard()
  private readonly batcher: Batcher<Entry>
  private readonly aborter = new AbortController()
  private readonly warn: ReturnType<typeof rateLimited>
  private progressWaiters: (() => void)[] = []

  constructor(private readonly options: PipelineOptions) {
    this.warn = rateLimited(options.logger, LOG_INTERVAL_MS)
    this.batcher = new Batcher<Entry>({
      batchSizePoints: options.batchSizePoints,
      flushIntervalMs: options.flushIntervalMs,
      maxConcurrentWrites: options.maxConcurrentWrites,
      write: (entries) => this.write(entries),
      onWriteError: (err) => {
        // Only an abort at close gets here: the batch stays unacknowledged and the broker resends it.
        if (!this.aborter.signal.aborted) options.logger.error('batch failed', { error: String(err) })
      },
      onBatchSettled: () => {
        const waiters = this.progressWaiters
        this.progressWaiters = []
        for (const resolve of waiters) resolve()
      },
    })
  }

  /** Points accepted and not yet written. */
  get pendingPoints(): number {
    return this.batcher.pendingPoints
  }

  /** True while so many points wait that reading from the broker should pause. */
  paused(): boolean {
    return this.batcher.pendingPoints >= this.options.maxPendingPoints
  }

  /** Resolves when the next batch has been handled. */
  progress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.push(resolve))
  }

  /** Takes one MQTT message; never throws. */
  handle(topic: string, payload: Buffer, ticket: AckTicket): void {
    const receivedAt = Date.now()
    this.counters.messagesReceived++
    const decoded = decodeMessage(topic, payload, receivedAt)
    if (!decoded.ok) return this.reject(decoded.reason, decoded.detail, topic, payload, receivedAt, ticket)
    let lines: string[]
    try {
      lines = messageToPoints(decoded.message, receivedAt).map(toLine)
    } catch (err) {
      return this.reject('line_protocol', (err as Error).message, topic, payload, receivedAt, ticket)
    }
    const backwards = this.guard.accept(decoded.message)
    if (backwards)
      return this.reject('energy_backwards', backwards.detail, topic, payload, receivedAt, ticket)
    if (lines.length === 0) return ticket.ack()
    this.batcher.add({ lines, ticket }, lines.length)
  }

  /** Writes everything accepted so far; resolves when done or, after {@link abort}, given up. */
  flush(): Promise<void> {
    return this.batcher.flush()
  }

  /** Stops retrying: unwritten batches stay unacknowledged, for the broker to deliver again. */
  abort(): void {
    this.aborter.abort(new Error('ingest is closing'))
  }

  private reject(
    reason: IngestRejectReason,
    detail: string,
    topic: string,
    payload: Buffer,
    receivedAt: number,
    ticket: AckTicket,
  ): void {
    this.counters.messagesRejected[reason]++
    this.options.deadLetter.record({ kind: 'message', reason, detail, topic, receivedAt, payload })
    this.warn(`reject:${reason}`, 'message rejected', { reason, topic: topic.slice(0, 256), detail })
    ticket.ack()
  }

  private readonly events: WriteAttemptEvents = {
    succeeded: () => {
      this.counters.lastWriteOk = true
    },
    failed: (error, lines, retryInMs) => {
      this.counters.writeErrors++
      if (retryInMs !== undefined) this.counters.lastWriteOk = false
      this.warn(retryInMs === undefined ? 'write:refused' : 'write:failed', 'write failed', {
        target: this.options.writer.target,
        status: error.status,
        error: error.message.slice(0, 500),
        lines,
        retryInMs,
      })
    },
  }

  private async write(entries: Entry[]): Promise<void> {
    const lines = entries.flatMap((e) => e.lines)
    const result = await writeBatch(lines, {
      writer: this.options.writer,
      backoff: this.options.backoff,
      events: this.events,
      signal: this.aborter.signal,
    })
    this.counters.pointsWritten += result.written
    for (const { line, detail, status } of result.rejected) {
      this.counters.pointsDeadLettered++
      this.options.deadLetter.record({
        kind: 'line',
        reason: WRITE_REJECTED,
        detail,
        line,
        status,
        rejectedAt: Date.now(),
      })
    }
    this.counters.batchesWritten++
    for (const entry of entries) entry.ticket.ack()
  }
}
