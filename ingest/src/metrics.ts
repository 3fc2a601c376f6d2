import type { RejectReason } from '@evmon/contracts'
import { Registry, stateMetrics } from '@evmon/runtime'
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
export type LineRejectReason = 'beyond_retention' | 'write_rejected'

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

/** A prom-client registry reading ingest's counters and state at each scrape (format 0.0.4). */
export function ingestRegistry(stats: () => IngestStats): Registry {
  const registry = new Registry()
  const { counter, counterBy, gauge, gaugeBy, histogram } = stateMetrics(registry, stats, 'evmon_ingest_')

  counter('messages_received_total', 'MQTT messages received.', (s) => s.messagesReceived)
  counterBy('messages_rejected_total', 'Messages rejected, by reason.', 'reason', (s) => s.messagesRejected)
  counter('points_written_total', 'Points stored in InfluxDB.', (s) => s.pointsWritten)
  counterBy(
    'points_dead_lettered_total',
    'Points InfluxDB refused, by reason (beyond_retention, write_rejected).',
    'reason',
    (s) => s.pointsDeadLettered,
  )
  counter('write_errors_total', 'Failed write requests, retries included.', (s) => s.writeErrors)
  counter('batches_total', 'Batches handled.', (s) => s.batchesWritten)
  gauge('pending_points', 'Points accepted, not yet written.', (s) => s.pendingPoints)
  gauge('unacked_messages', 'Messages not yet acknowledged to the broker.', (s) => s.unackedMessages)
  gauge(
    'mqtt_connected',
    '1 when connected to the broker with the subscription in place.',
    (s) => s.mqttConnected,
  )
  gauge(
    'last_write_ok',
    '1 when the last write succeeded (or none was needed).',
    (s) => s.lastWriteOk !== false,
  )
  counter(
    'dead_letter_entries_total',
    "Records fsync'd into the dead-letter store.",
    (s) => s.deadLetterEntries,
  )
  gauge('dead_letter_bytes', 'Size of the dead-letter store.', (s) => s.deadLetterBytes)
  gauge('dead_letter_max_bytes', 'Dead-letter store quota.', (s) => s.deadLetterMaxBytes)
  gauge(
    'dead_letter_quota_warning',
    '1 when the dead-letter store is at 80% of its quota or more.',
    (s) => s.deadLetterWarning,
  )
  gauge(
    'dead_letter_full',
    '1 when the dead-letter store is full and rejected messages are held unacknowledged.',
    (s) => s.deadLetterFull,
  )
  counter(
    'dead_letter_write_errors_total',
    'Dead-letter appends the disk refused.',
    (s) => s.deadLetterWriteErrors,
  )
  gaugeBy(
    'held_messages',
    'Rejected messages held unacknowledged for want of dead-letter room, by station.',
    'station',
    (s) => s.heldMessages,
  )
  counter('points_spooled_total', "Points fsync'd into the on-disk spool.", (s) => s.pointsSpooled)
  gauge('spool_records', 'Batches waiting in the spool.', (s) => s.spoolRecords)
  gauge('spool_bytes', 'Bytes of spool segment files.', (s) => s.spoolBytes)
  gauge('spool_max_bytes', 'Spool disk quota.', (s) => s.spoolMaxBytes)
  gauge('spool_full', '1 when the spool is full and messages are no longer acknowledged.', (s) => s.spoolFull)
  counter('register_resets_total', 'Energy registers accepted as restarted.', (s) => s.registerResets)
  histogram(
    'batch_latency_seconds',
    'From hand-over to the writer until written or spooled.',
    (s) => s.batchLatency,
  )
  histogram('write_lag_seconds', 'From sample time to write into InfluxDB.', (s) => s.writeLag)
  return registry
}
