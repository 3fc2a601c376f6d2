import { decodeMessage, MEASUREMENTS, messageToPoints, toLine, type Point } from '@evmon/contracts'
import type { AckTicket } from './ack-queue.ts'
import type { RejectedLine, WriteAttemptEvents } from './batch-writer.ts'
import { Batcher } from './batcher.ts'
import type { DeadLetter } from './dead-letter.ts'
import type { BackoffPolicy } from './backoff.ts'
import { DurableSink } from './durable-sink.ts'
import type { LineWriter } from './line-writer.ts'
import type { Spool } from './spool.ts'
import { Histogram, LAG_BUCKETS_S, LATENCY_BUCKETS_S } from './histogram.ts'
import { rateLimited, type Logger } from './log.ts'
import { zeroRejects, type IngestRejectReason } from './metrics.ts'
import { RegisterGuard, type RegisterReset } from './register-guard.ts'
import type { SessionTracker } from './sessions.ts'

/** Reason recorded with the lines InfluxDB refused. */
const WRITE_REJECTED = 'write_rejected'

const LOG_INTERVAL_MS = 10_000

export interface PipelineOptions {
  writer: LineWriter
  spool: Spool
  backoff: BackoffPolicy
  deadLetter: DeadLetter
  logger: Logger
  sessions: SessionTracker
  /** Persists the session state; called before acknowledging a batch when it changed. */
  saveSessions(): Promise<void>
  registerResetGapMs: number
  batchSizePoints: number
  flushIntervalMs: number
  maxConcurrentWrites: number
  maxPendingPoints: number
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
  pointsSpooled: number
  registerResets: number
}

interface Entry {
  lines: string[]
  ticket: AckTicket
  /** The message's sample time, for the lag metric. */
  sampleTs: number
}

function resetEvent(site: string, station: string, ts: number, reset: RegisterReset): Point {
  const tags: Record<string, string> = { site, station, type: 'register_reset' }
  if (reset.connector !== undefined) tags.connector = String(reset.connector)
  return { measurement: MEASUREMENTS.event, tags, fields: { reason: reset.reason }, time: ts }
}

/**
 * From one MQTT message to acknowledged points: decode and validate against the contract, refuse
 * backwards energy registers (accepting restarts as `register_reset` events), add `session` points,
 * serialise with `toLine`, batch, make durable (InfluxDB or the spool), and only then ack. Every
 * refusal is counted by reason, logged (rate-limited) and dead-lettered, and acked: redelivering it
 * would not make it valid.
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
    pointsSpooled: 0,
    registerResets: 0,
  }
  readonly batchLatency = new Histogram(LATENCY_BUCKETS_S)
  readonly writeLag = new Histogram(LAG_BUCKETS_S)
  readonly sink: DurableSink
  private readonly guard: RegisterGuard
  private readonly batcher: Batcher<Entry>
  private readonly aborter = new AbortController()
  private readonly warn: ReturnType<typeof rateLimited>
  private progressWaiters: (() => void)[] = []

  constructor(private readonly options: PipelineOptions) {
    this.warn = rateLimited(options.logger, LOG_INTERVAL_MS)
    this.guard = new RegisterGuard(options.registerResetGapMs)
    this.sink = new DurableSink({
      writer: options.writer,
      spool: options.spool,
      backoff: options.backoff,
      events: {
        ...this.events,
        drained: (written, rejected, oldestTs) => this.drained(written, rejected, oldestTs),
      },
      signal: this.aborter.signal,
    })
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
    const message = decoded.message
    let points: Point[]
    let lines: string[]
    try {
      points = messageToPoints(message, receivedAt)
      lines = points.map(toLine)
    } catch (err) {
      return this.reject('line_protocol', (err as Error).message, topic, payload, receivedAt, ticket)
    }
    const verdict = this.guard.accept(message)
    if (!verdict.ok)
      return this.reject('energy_backwards', verdict.detail, topic, payload, receivedAt, ticket)
    const sampleTs = points[0]?.time ?? receivedAt
    for (const reset of verdict.resets) {
      this.counters.registerResets++
      lines.push(toLine(resetEvent(message.site, message.station, sampleTs, reset)))
      this.options.logger.warn('energy register reset accepted', { topic, reason: reset.reason })
    }
    // Ids and numbers here were validated by the schema, so these points serialise without error.
    for (const point of this.options.sessions.observe(message)) lines.push(toLine(point))
    if (lines.length === 0) return ticket.ack()
    this.batcher.add({ lines, ticket, sampleTs }, lines.length)
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

  private deadLetterLines(rejected: RejectedLine[]): void {
    for (const { line, detail, status } of rejected) {
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
  }

  private drained(written: number, rejected: RejectedLine[], oldestTs: number): void {
    this.counters.pointsWritten += written
    this.writeLag.observe(Math.max(0, Date.now() - oldestTs) / 1000, written)
    this.deadLetterLines(rejected)
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
    const started = Date.now()
    const lines = entries.flatMap((e) => e.lines)
    const oldestTs = entries.reduce((min, e) => Math.min(min, e.sampleTs), Infinity)
    const outcome = await this.sink.store(lines, oldestTs)
    const now = Date.now()
    this.batchLatency.observe((now - started) / 1000)
    this.counters.pointsWritten += outcome.written
    this.counters.pointsSpooled += outcome.spooled
    if (outcome.written > 0) {
      for (const e of entries) this.writeLag.observe(Math.max(0, now - e.sampleTs) / 1000, e.lines.length)
    }
    this.deadLetterLines(outcome.rejected)
    this.counters.batchesWritten++
    // The state must cover every acknowledged message: a redelivery would not bring those back.
    if (this.options.sessions.dirty) await this.options.saveSessions()
    for (const entry of entries) entry.ticket.ack()
  }
}
