import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { parse } from 'yaml'
import { brokerRegistry, newCounters } from '../broker/src/metrics.ts'
import { Histogram } from '../ingest/src/histogram.ts'
import { ingestRegistry, zeroRejects, type IngestStats } from '../ingest/src/metrics.ts'
import { repoRoot } from '../scripts/stack.ts'

// The alerting rules operators load into Prometheus (deploy/prometheus/alerts.yml) must name metrics the
// services really export: a renamed metric would otherwise silence its alert without any error. The
// expositions are rendered by the services' own registries, with a state in which every gauge family
// (labelled ones included) has a sample.

interface Rule {
  alert: string
  expr: string
  labels: { severity: string }
  annotations: { summary: string }
}
const rules = (
  parse(readFileSync(join(repoRoot, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
    groups: Array<{ rules: Rule[] }>
  }
).groups.flatMap((g) => g.rules)

function ingestState(): IngestStats {
  return {
    messagesReceived: 0,
    messagesRejected: zeroRejects(),
    pointsWritten: 0,
    pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
    writeErrors: 0,
    batchesWritten: 0,
    pendingPoints: 0,
    unackedMessages: 0,
    mqttConnected: true,
    lastWriteOk: true,
    deadLetterEntries: 0,
    deadLetterBytes: 0,
    deadLetterMaxBytes: 1,
    deadLetterWarning: false,
    deadLetterFull: false,
    deadLetterWriteErrors: 0,
    heldMessages: new Map([['kc-fast-1', 1]]),
    pointsSpooled: 0,
    spoolRecords: 0,
    spoolBytes: 0,
    spoolMaxBytes: 1,
    spoolFull: false,
    registerResets: 0,
    batchLatency: new Histogram([1]),
    writeLag: new Histogram([1]),
  }
}

test('every alert rule reads a metric a service exports, with a severity and a summary', async () => {
  const exported = [
    await ingestRegistry(ingestState).metrics(),
    await brokerRegistry(newCounters).metrics(),
  ].join('\n')
  const names = new Set(exported.match(/^# TYPE (\S+)/gm)?.map((line) => line.slice('# TYPE '.length)))
  expect(rules.length).toBeGreaterThan(5)
  for (const rule of rules) {
    expect(['warning', 'critical'], rule.alert).toContain(rule.labels.severity)
    expect(rule.annotations.summary.length, rule.alert).toBeGreaterThan(10)
    for (const metric of rule.expr.match(/\bevmon_[a-z_]+/g) ?? []) {
      expect(names.has(metric.replace(/_(bucket|sum|count)$/, '')), `${rule.alert}: ${metric}`).toBe(true)
    }
  }
})
