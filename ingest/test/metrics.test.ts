import { expect, test } from 'vitest'
import { Histogram } from '../src/histogram.ts'
import { ingestRegistry, isHealthy, REJECT_REASONS, zeroRejects, type IngestStats } from '../src/metrics.ts'

const render = (s: IngestStats) => ingestRegistry(() => s).metrics()

const stats = (overrides: Partial<IngestStats> = {}): IngestStats => ({
  messagesReceived: 12,
  messagesRejected: { ...zeroRejects(), json: 2, energy_backwards: 1 },
  pointsWritten: 27,
  pointsDeadLettered: { beyond_retention: 2, write_rejected: 1 },
  writeErrors: 3,
  batchesWritten: 4,
  pendingPoints: 5,
  unackedMessages: 2,
  mqttConnected: true,
  lastWriteOk: true,
  deadLetterEntries: 4,
  deadLetterBytes: 850,
  deadLetterMaxBytes: 1_000,
  deadLetterWarning: true,
  deadLetterFull: false,
  deadLetterWriteErrors: 0,
  heldMessages: new Map([['kc-"ac"', 3]]),
  pointsSpooled: 40,
  spoolRecords: 2,
  spoolBytes: 8_192,
  spoolMaxBytes: 1_048_576,
  spoolFull: false,
  registerResets: 1,
  batchLatency: new Histogram([0.1, 1]),
  writeLag: new Histogram([1, 10]),
  ...overrides,
})

test('the exposition has one sample per counter and one per reject reason', async () => {
  const text = await render(stats())
  expect(text).toContain(
    '# TYPE evmon_ingest_messages_received_total counter\nevmon_ingest_messages_received_total 12\n',
  )
  expect(text).toContain('evmon_ingest_messages_rejected_total{reason="json"} 2\n')
  expect(text).toContain('evmon_ingest_messages_rejected_total{reason="energy_backwards"} 1\n')
  expect(text).toContain('evmon_ingest_messages_rejected_total{reason="schema"} 0\n')
  expect(text.match(/^evmon_ingest_messages_rejected_total\{/gm)).toHaveLength(REJECT_REASONS.length)
  expect(text).toContain('evmon_ingest_points_written_total 27\n')
  expect(text).toContain('evmon_ingest_write_errors_total 3\n')
  expect(text).toContain('evmon_ingest_batches_total 4\n')
  expect(text).toContain('evmon_ingest_mqtt_connected 1\n')
  expect(text.endsWith('\n')).toBe(true)
  // Every sample line is "name{labels} value" (blank lines between metrics are allowed by the format).
  for (const line of text
    .trim()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))) {
    expect(line).toMatch(
      /^evmon_ingest_[a-z_]+(\{(reason="[a-z_]+"|le="[0-9.+Inf]+"|station="(\\.|[^"\\])*")\})? [\d.]+$/,
    )
  }
})

test('the dead-letter store shows its size, quota, 80% warning and the messages held per station', async () => {
  const text = await render(stats())
  expect(text).toContain('evmon_ingest_dead_letter_bytes 850\n')
  expect(text).toContain('evmon_ingest_dead_letter_max_bytes 1000\n')
  expect(text).toContain('evmon_ingest_dead_letter_quota_warning 1\n')
  expect(text).toContain('evmon_ingest_dead_letter_full 0\n')
  expect(text).toContain('evmon_ingest_held_messages{station="kc-\\"ac\\""} 3\n')
  expect(text).toContain('evmon_ingest_points_dead_lettered_total{reason="beyond_retention"} 2\n')
  expect(text).toContain('evmon_ingest_points_dead_lettered_total{reason="write_rejected"} 1\n')
})

test('spool and latency figures are exposed, histograms with cumulative buckets', async () => {
  const lag = new Histogram([1, 10])
  lag.observe(0.5, 3)
  lag.observe(5)
  lag.observe(60)
  const text = await render(stats({ writeLag: lag, spoolFull: true }))
  expect(text).toContain('evmon_ingest_points_spooled_total 40\n')
  expect(text).toContain('evmon_ingest_spool_bytes 8192\n')
  expect(text).toContain('evmon_ingest_spool_full 1\n')
  expect(text).toContain('evmon_ingest_register_resets_total 1\n')
  expect(text).toContain(
    [
      '# TYPE evmon_ingest_write_lag_seconds histogram',
      'evmon_ingest_write_lag_seconds_bucket{le="1"} 3',
      'evmon_ingest_write_lag_seconds_bucket{le="10"} 4',
      'evmon_ingest_write_lag_seconds_bucket{le="+Inf"} 5',
      'evmon_ingest_write_lag_seconds_sum 66.5',
      'evmon_ingest_write_lag_seconds_count 5',
    ].join('\n'),
  )
})

test('health needs the broker, a last write that did not fail and room in the spool', () => {
  expect(isHealthy(stats({ spoolFull: true }))).toBe(false)
  expect(isHealthy(stats())).toBe(true)
  expect(isHealthy(stats({ lastWriteOk: null }))).toBe(true)
  expect(isHealthy(stats({ lastWriteOk: false }))).toBe(false)
  expect(isHealthy(stats({ mqttConnected: false }))).toBe(false)
})
