import type { RejectReason } from '@evmon/contracts'
import type { Histogram } from './histogram.ts'

/** Why ingest refused a message: the contract's reasons, plus a point the line protocol cannot carry. */
export type IngestRejectReason = RejectReason | 'line_protocol'

// A record, not an array, so the compiler insists on every reason the contract defines.
const reasonSet: Record<IngestRejectReason, true> = {
  topic: true,
  too_large: true,
  json: true,
  schema: true,
  duplicate_connector: true,
  ts_future: true,
  ts_past: true,
  energy_backwards: true,
  line_protocol: true,
}

/** Every reject reason, so each has a counter (at zero) from the start. */
export const REJECT_REASONS = Object.keys(reasonSet) as readonly IngestRejectReason[]

/** Reasons recorded with the lines InfluxDB refused: too old for the raw retention, or anything else. */
export const LINE_REJECT_REASONS = ['beyond_retention', 'write_rejected'] as const
export type LineRejectReason = (typeof LINE_REJECT_REASONS)[number]

/** Counters since start and the current state of the pipeline. */
export interface IngestStats {
  /** MQTT messages taken into the pipeline. */
  messagesReceived: number
  messagesRejected: Record<IngestRejectReason, number>
  pointsWritten: number
  /**
   * Points InfluxDB refused even alone, moved to the dead-letter store: `beyond_retention` (older than
   * the raw retention keeps) or `write_rejected` (anything else, e.g. a field type conflict).
   */
  pointsDeadLettered: Record<LineRejectReason, number>
  /** Failed write requests, retries included. */
  writeErrors: number
  /** Batches fully handled (every point stored or dead-lettered). */
  batchesWritten: number
  /** Points accepted and not yet written. */
  pendingPoints: number
  /** Messages received and not yet acknowledged to the broker. */
  unackedMessages: number
  mqttConnected: boolean
  /** Outcome of the last write request; null before the first one. */
  lastWriteOk: boolean | null
  /** Records fsync'd into the dead-letter store since start. */
  deadLetterEntries: number
  /** Size of the dead-letter store and its quota. */
  deadLetterBytes: number
  deadLetterMaxBytes: number
  /** Alert: the store is at 80% of its quota or more. */
  deadLetterWarning: boolean
  /** Alert: a rejected message did not fit; such messages are held unacknowledged. */
  deadLetterFull: boolean
  /** Dead-letter appends the disk refused (their messages were held, not acknowledged). */
  deadLetterWriteErrors: number
  /** Rejected messages held unacknowledged, by station, while the store has no room. */
  heldMessages: ReadonlyMap<string, number>
  /** Points fsync'd into the spool because InfluxDB could not take them. */
  pointsSpooled: number
  /** Batches and bytes waiting in the spool (bytes include consumed records of the oldest segment). */
  spoolRecords: number
  spoolBytes: number
  spoolMaxBytes: number
  /** Alert: the spool refused a batch for lack of room; messages are no longer acknowledged. */
  spoolFull: boolean
  /** Energy registers accepted as restarted (see register-guard.ts), each also an `event` point. */
  registerResets: number
  /** Charging sessions started and not yet stopped. */
  sessionsActive: number
  /** Seconds from a batch's hand-over to the writer until it is safe (written or spooled). */
  batchLatency: Histogram
  /** Seconds from a point's sample time to its write into InfluxDB. */
  writeLag: Histogram
}

/** A zeroed counter per reject reason. */
export function zeroRejects(): Record<IngestRejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<IngestRejectReason, number>
}

/**
 * Healthy when MQTT is connected, the last write succeeded (or none was needed) and the spool has room.
 */
export function isHealthy(stats: IngestStats): boolean {
  return stats.mqttConnected && stats.lastWriteOk !== false && !stats.spoolFull
}

/** A label value as the Prometheus text format needs it (a station id from a bad topic may be anything). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function metric(name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]): string {
  return [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([l, v]) => `${name}${l} ${v}`),
  ].join('\n')
}

function histogram(name: string, help: string, h: Histogram): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`, ...h.render(name)].join('\n')
}

/** Prometheus text exposition (format 0.0.4) of the ingest's counters. */
export function renderMetrics(stats: IngestStats): string {
  const p = 'evmon_ingest_'
  return `${[
    metric(`${p}messages_received_total`, 'counter', 'MQTT messages received.', [
      ['', stats.messagesReceived],
    ]),
    metric(
      `${p}messages_rejected_total`,
      'counter',
      'Messages rejected, by reason.',
      REJECT_REASONS.map((r) => [`{reason="${r}"}`, stats.messagesRejected[r]]),
    ),
    metric(`${p}points_written_total`, 'counter', 'Points stored in InfluxDB.', [['', stats.pointsWritten]]),
    metric(
      `${p}points_dead_lettered_total`,
      'counter',
      'Points InfluxDB refused, by reason (beyond_retention, write_rejected).',
      LINE_REJECT_REASONS.map((r) => [`{reason="${r}"}`, stats.pointsDeadLettered[r]]),
    ),
    metric(`${p}write_errors_total`, 'counter', 'Failed write requests, retries included.', [
      ['', stats.writeErrors],
    ]),
    metric(`${p}batches_total`, 'counter', 'Batches handled.', [['', stats.batchesWritten]]),
    metric(`${p}pending_points`, 'gauge', 'Points accepted, not yet written.', [['', stats.pendingPoints]]),
    metric(`${p}unacked_messages`, 'gauge', 'Messages not yet acknowledged to the broker.', [
      ['', stats.unackedMessages],
    ]),
    metric(`${p}mqtt_connected`, 'gauge', '1 when connected to the broker with the subscription in place.', [
      ['', stats.mqttConnected ? 1 : 0],
    ]),
    metric(`${p}last_write_ok`, 'gauge', '1 when the last write succeeded (or none was needed).', [
      ['', stats.lastWriteOk === false ? 0 : 1],
    ]),
    metric(`${p}dead_letter_entries_total`, 'counter', "Records fsync'd into the dead-letter store.", [
      ['', stats.deadLetterEntries],
    ]),
    metric(`${p}dead_letter_bytes`, 'gauge', 'Size of the dead-letter store.', [['', stats.deadLetterBytes]]),
    metric(`${p}dead_letter_max_bytes`, 'gauge', 'Dead-letter store quota.', [
      ['', stats.deadLetterMaxBytes],
    ]),
    metric(
      `${p}dead_letter_quota_warning`,
      'gauge',
      '1 when the dead-letter store is at 80% of its quota or more.',
      [['', stats.deadLetterWarning ? 1 : 0]],
    ),
    metric(
      `${p}dead_letter_full`,
      'gauge',
      '1 when the dead-letter store is full and rejected messages are held unacknowledged.',
      [['', stats.deadLetterFull ? 1 : 0]],
    ),
    metric(`${p}dead_letter_write_errors_total`, 'counter', 'Dead-letter appends the disk refused.', [
      ['', stats.deadLetterWriteErrors],
    ]),
    metric(
      `${p}held_messages`,
      'gauge',
      'Rejected messages held unacknowledged for want of dead-letter room, by station.',
      [...stats.heldMessages].map(([station, n]) => [`{station="${escapeLabel(station)}"}`, n]),
    ),
    metric(`${p}points_spooled_total`, 'counter', "Points fsync'd into the on-disk spool.", [
      ['', stats.pointsSpooled],
    ]),
    metric(`${p}spool_records`, 'gauge', 'Batches waiting in the spool.', [['', stats.spoolRecords]]),
    metric(`${p}spool_bytes`, 'gauge', 'Bytes of spool segment files.', [['', stats.spoolBytes]]),
    metric(`${p}spool_max_bytes`, 'gauge', 'Spool disk quota.', [['', stats.spoolMaxBytes]]),
    metric(`${p}spool_full`, 'gauge', '1 when the spool is full and messages are no longer acknowledged.', [
      ['', stats.spoolFull ? 1 : 0],
    ]),
    metric(`${p}register_resets_total`, 'counter', 'Energy registers accepted as restarted.', [
      ['', stats.registerResets],
    ]),
    metric(`${p}sessions_active`, 'gauge', 'Charging sessions started and not stopped.', [
      ['', stats.sessionsActive],
    ]),
    histogram(
      `${p}batch_latency_seconds`,
      'From hand-over to the writer until written or spooled.',
      stats.batchLatency,
    ),
    histogram(`${p}write_lag_seconds`, 'From sample time to write into InfluxDB.', stats.writeLag),
  ].join('\n')}\n`
}
