import { expect, test } from 'vitest'
import { isHealthy, REJECT_REASONS, renderMetrics, zeroRejects, type IngestStats } from '../src/metrics.ts'

const stats = (overrides: Partial<IngestStats> = {}): IngestStats => ({
  messagesReceived: 12,
  messagesRejected: { ...zeroRejects(), json: 2, energy_backwards: 1 },
  pointsWritten: 27,
  pointsDeadLettered: 1,
  writeErrors: 3,
  batchesWritten: 4,
  pendingPoints: 5,
  unackedMessages: 2,
  mqttConnected: true,
  lastWriteOk: true,
  deadLetterEntries: 4,
  deadLetterDropped: 0,
  ...overrides,
})

test('the exposition has one sample per counter and one per reject reason', () => {
  const text = renderMetrics(stats())
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
  // Every sample line is "name{labels} value" and every metric is declared before its samples.
  for (const line of text
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('#'))) {
    expect(line).toMatch(/^evmon_ingest_[a-z_]+(\{reason="[a-z_]+"\})? \d+$/)
  }
})

test('health needs the broker and a last write that did not fail', () => {
  expect(isHealthy(stats())).toBe(true)
  expect(isHealthy(stats({ lastWriteOk: null }))).toBe(true)
  expect(isHealthy(stats({ lastWriteOk: false }))).toBe(false)
  expect(isHealthy(stats({ mqttConnected: false }))).toBe(false)
})
