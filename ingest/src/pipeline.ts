import { decodeMessage, MEASUREMENTS, messageToPoints, toLine, type Point } from '@evmon/contracts'
import type { AckTicket } from './ack-queue.ts'
import type { RejectedLine, WriteAttemptEvents } from './batch-writer.ts'
import { Batcher } from './batcher.ts'
import { stationOf, type DeadLetterEntry, type DeadLetterStore } from './dead-letter.ts'
import type { BackoffPolicy } from './backoff.ts'
import { aborted, DurableSink } from './durable-sink.ts'
import type { LineWriter } from './line-writer.ts'
import type { Spool } from './spool.ts'
import { Histogram, LAG_BUCKETS_S, LATENCY_BUCKETS_S } from './histogram.ts'
import { rateLimited, type Logger } from './log.ts'
import { zeroRejects, type IngestRejectReason, type IngestStats, type LineRejectReason } from './metrics.ts'
import { RegisterGuard, type RegisterReset } from './register-guard.ts'

/** InfluxDB's words (1.x and 2.x alike) for points older than the retention policy keeps. */
const BEYOND_RETENTION = /points beyond retention policy/

export function lineRejectReason(detail: string): LineRejectReason {
  return BEYOND_RETENTION.test(detail) ? 'beyond_retention' : 'write_rejected'
}

const LOG_INTERVAL_MS = 10_000

export interface PipelineOptions {
  writer: LineWriter
  spool: Spool
  backoff: BackoffPolicy
  deadLetter: DeadLetterStore
  /** Rejected messages kept unacknowledged while the dead-letter store is full; above this, reading stops. */
  maxHeldMessages: number
  logger: Logger
  registerResetGapMs: number
  batchSizePoints: number
  flushIntervalMs: number
  maxConcurrentWrites: number
  maxPendingPoints: number
}

/** Counters the pipeline itself keeps (see `IngestStats` for their meaning). */
export type PipelineCounters = Pick<
  IngestStats,
  | 'messagesReceived'
  | 'messagesRejected'
  | 'pointsWritten'
  | 'pointsDeadLettered'
  | 'writeErrors'
  | 'batchesWritten'
  | 'lastWriteOk'
  | 'pointsSpooled'
  | 'registerResets'
>

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
 * backwards energy registers (accepting restarts as `register_reset` events), serialise with `toLine`,
 * batch, make durable (InfluxDB or the spool), and only then ack. Every refusal is counted by reason,
 * logged (rate-limited), fsync'd into the dead-letter store and only then acked (redelivering it
 * would not make it valid); while the store is full it is held unacknowledged.
 */
export class Pipeline {
  readonly counters: PipelineCounters = {
    messagesReceived: 0,
    messagesRejected: zeroRejects(),
    pointsWritten: 0,
    pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
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
  /** Rejected messages waiting for room in the dead-letter store, unacknowledged, oldest first. */
  private held: { entry: DeadLetterEntry; station: string; ticket: AckTicket }[] = []
  private readonly heldByStation = new Map<string, number>()
  private retryingHeld = false

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
      onBatchSettled: () => this.progressed(),
    })
  }

  /** Points accepted and not yet written. */
  get pendingPoints(): number {
    return this.batcher.pendingPoints
  }

  /** Rejected messages held unacknowledged per station (dead-letter store full). */
  get heldMessages(): ReadonlyMap<string, number> {
    return this.heldByStation
  }

  /**
   * True while so many points wait that reading from the broker should pause, or while so many
   * rejected messages are held that the next one could not be kept either.
   */
  paused(): boolean {
    this.dropCancelledHeld()
    return (
      this.batcher.pendingPoints >= this.options.maxPendingPoints ||
      this.held.length >= this.options.maxHeldMessages
    )
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

  private progressed(): void {
    const waiters = this.progressWaiters
    this.progressWaiters = []
    for (const resolve of waiters) resolve()
  }

  /**
   * Counts, logs and keeps a refused message; it is acknowledged once its dead-letter record is
   * fsync'd. When the store has no room (or the disk fails) the message is held unacknowledged: the
   * PUBACKs of other messages pass it, and it is stored and acknowledged when room appears.
   */
  private reject(
    reason: IngestRejectReason,
    detail: string,
    topic: string,
    payload: Buffer,
    receivedAt: number,
    ticket: AckTicket,
  ): void {
    this.counters.messagesRejected[reason]++
    this.warn(`reject:${reason}`, 'message rejected', { reason, topic: topic.slice(0, 256), detail })
    const entry: DeadLetterEntry = { kind: 'message', reason, detail, topic, receivedAt, payload }
    // Behind held messages a new one waits its turn, so the store keeps arrival order.
    if (this.held.length > 0) return this.hold(entry, ticket)
    this.options.deadLetter.append(entry).then(
      (result) => (result === 'stored' ? ticket.ack() : this.hold(entry, ticket)),
      () => this.hold(entry, ticket),
    )
  }

  private hold(entry: DeadLetterEntry, ticket: AckTicket): void {
    this.dropCancelledHeld()
    const station = stationOf(entry)
    const before = this.heldByStation.get(station) ?? 0
    if (before === 0) {
      this.options.logger.error('dead-letter store has no room: holding rejected messages unacknowledged', {
        station,
      })
    }
    this.heldByStation.set(station, before + 1)
    ticket.hold()
    this.held.push({ entry, station, ticket })
    void this.retryHeld()
  }

  /** Removes the oldest held message from the hold and its station's count. */
  private unhold(): void {
    const first = this.held.shift()
    if (first === undefined) return
    const left = (this.heldByStation.get(first.station) ?? 1) - 1
    if (left === 0) this.heldByStation.delete(first.station)
    else this.heldByStation.set(first.station, left)
  }

  /**
   * Forgets held messages of a lost connection: the broker delivers them again on the next one (and
   * they are held again if need be). A lost connection cancels every held message at once, and they are
   * older than any held since, so they are all at the front.
   */
  private dropCancelledHeld(): void {
    while (this.held[0]?.ticket.cancelled === true) this.unhold()
  }

  /** Stores held messages in order as room appears, acknowledging each once it is durable. */
  private async retryHeld(): Promise<void> {
    if (this.retryingHeld) return
    this.retryingHeld = true
    const store = this.options.deadLetter
    // One abort listener for the whole wait, not one per round.
    const stop = aborted(this.aborter.signal)
    stop.catch(() => undefined)
    try {
      while (this.held.length > 0 && !this.aborter.signal.aborted) {
        await Promise.race([store.roomFreed(), stop]).catch(() => undefined)
        for (;;) {
          this.dropCancelledHeld()
          const first = this.held[0]
          if (first === undefined || this.aborter.signal.aborted) break
          if ((await store.append(first.entry).catch(() => 'full')) !== 'stored') break
          this.unhold()
          first.ticket.ack()
        }
        this.progressed()
      }
    } finally {
      this.retryingHeld = false
    }
  }

  /** Makes the lines InfluxDB refused durable in the dead-letter store, waiting for room if need be. */
  private async deadLetterLines(rejected: RejectedLine[]): Promise<void> {
    let stop: Promise<never> | undefined
    for (const { line, detail, status } of rejected) {
      const reason = lineRejectReason(detail)
      this.counters.pointsDeadLettered[reason]++
      const entry: DeadLetterEntry = { kind: 'line', reason, detail, line, status, rejectedAt: Date.now() }
      // These lines' messages are acknowledged (or spooled) only after this: waiting holds them back.
      for (;;) {
        const result = await this.options.deadLetter.append(entry).catch(() => 'full' as const)
        if (result === 'stored') break
        this.aborter.signal.throwIfAborted()
        stop ??= aborted(this.aborter.signal)
        await Promise.race([this.options.deadLetter.roomFreed(), stop])
      }
    }
  }

  private async drained(written: number, rejected: RejectedLine[], oldestTs: number): Promise<void> {
    this.counters.pointsWritten += written
    this.writeLag.observe(Math.max(0, Date.now() - oldestTs) / 1000, written)
    await this.deadLetterLines(rejected)
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
    await this.deadLetterLines(outcome.rejected)
    this.counters.batchesWritten++
    for (const entry of entries) entry.ticket.ack()
  }
}
