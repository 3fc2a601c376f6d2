import { expect, test } from 'vitest'
import {
  childrenBy,
  Counter,
  counterValue,
  readCounter,
  readGauge,
  readHistogram,
  Registry,
  stateMetrics,
} from '../src/index.ts'

test('a registry renders counters, labelled children and read gauges in the text format', async () => {
  const registry = new Registry()
  const plain = new Counter({ name: 'x_total', help: 'Plain.', registers: [registry] })
  const byKind = new Counter({
    name: 'y_total',
    help: 'By kind.',
    labelNames: ['kind'],
    registers: [registry],
  })
  let size = 3
  readGauge(registry, 'x_size', 'Read at scrape.', () => size)
  const kind = childrenBy(byKind)
  kind('a').inc()
  kind('a').inc()
  kind('b"\n').inc()
  expect(kind('a')).toBe(kind('a'))
  size = 5
  const text = await registry.metrics()
  expect(text).toContain('# HELP x_total Plain.\n# TYPE x_total counter\nx_total 0\n')
  expect(text).toContain('y_total{kind="a"} 2')
  expect(text).toContain('y_total{kind="b\\"\\n"} 1')
  expect(text).toContain('# TYPE x_size gauge\nx_size 5')
  expect(await counterValue(byKind, { kind: 'a' })).toBe(2)
  expect(await counterValue(byKind, { kind: 'c' })).toBe(0)
  expect(await counterValue(plain)).toBe(0)
})

test('two registries keep their own values (several service instances in one process)', async () => {
  const [one, two] = [new Registry(), new Registry()]
  const a = new Counter({ name: 'z_total', help: 'Z.', registers: [one] })
  new Counter({ name: 'z_total', help: 'Z.', registers: [two] })
  a.inc(4)
  expect(await one.metrics()).toContain('z_total 4')
  expect(await two.metrics()).toContain('z_total 0')
})

test('a read counter reports the value the service kept, per label value, zeros included', async () => {
  const registry = new Registry()
  const counts = { total: 2, byQos: [5, 0, 1] }
  readCounter(registry, 'r_total', 'Read.', () => counts.total)
  readCounter(registry, 'q_total', 'By QoS.', () => Object.fromEntries(counts.byQos.entries()), 'qos')
  expect(await registry.metrics()).toContain('r_total 2')
  counts.total = 7
  counts.byQos[2] = 3
  const text = await registry.metrics()
  expect(text).toContain('# TYPE r_total counter\nr_total 7')
  expect(text).toContain('q_total{qos="0"} 5\nq_total{qos="1"} 0\nq_total{qos="2"} 3')
})

test('read gauges per label value and a read histogram with cumulative buckets', async () => {
  const registry = new Registry()
  const held = new Map([['kc-"ac"', 3]])
  readGauge(registry, 'held', 'By station.', () => held, 'station')
  readHistogram(registry, 'lag_seconds', 'Lag.', () => ({
    bounds: [1, 10],
    counts: [3, 1],
    sum: 66.5,
    count: 5,
  }))
  let text = await registry.metrics()
  expect(text).toContain('held{station="kc-\\"ac\\""} 3\n')
  expect(text).toContain(
    [
      '# TYPE lag_seconds histogram',
      'lag_seconds_bucket{le="1"} 3',
      'lag_seconds_bucket{le="10"} 4',
      'lag_seconds_bucket{le="+Inf"} 5',
      'lag_seconds_sum 66.5',
      'lag_seconds_count 5',
    ].join('\n'),
  )
  held.clear()
  text = await registry.metrics()
  expect(text).not.toContain('held{')
})

test('state metrics read their field of the current state at each scrape, under the prefix; flags read 1 or 0', async () => {
  const registry = new Registry()
  let state = { sent: 4, up: true, byReason: { json: 1, schema: 0 }, held: new Map([['a', 2]]) }
  const { counter, counterBy, gauge, gaugeBy } = stateMetrics(registry, () => state, 'svc_')
  counter('sent_total', 'Sent.', (s) => s.sent)
  counterBy('rejected_total', 'Rejected.', 'reason', (s) => s.byReason)
  gauge('up', 'Up.', (s) => s.up)
  gaugeBy('held', 'Held.', 'station', (s) => s.held)
  let text = await registry.metrics()
  expect(text).toContain('# TYPE svc_sent_total counter\nsvc_sent_total 4\n')
  expect(text).toContain('svc_rejected_total{reason="json"} 1\nsvc_rejected_total{reason="schema"} 0\n')
  expect(text).toContain('# TYPE svc_up gauge\nsvc_up 1\n')
  expect(text).toContain('svc_held{station="a"} 2\n')
  state = { sent: 9, up: false, byReason: { json: 2, schema: 1 }, held: new Map() }
  text = await registry.metrics()
  expect(text).toContain('svc_sent_total 9\n')
  expect(text).toContain('svc_up 0\n')
  expect(text).toContain('svc_rejected_total{reason="schema"} 1\n')
  expect(text).not.toContain('svc_held{')
})
