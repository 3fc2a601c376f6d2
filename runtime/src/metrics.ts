// Prometheus metrics through prom-client, set up one way in every service: one registry per service
// instance (tests run several instances in one process, where the global registry would mix them) and
// no default process collectors (the services never exposed them, so a scrape keeps its size).
import type { ServerResponse } from 'node:http'
import { Counter, Gauge, Registry } from 'prom-client'

export { Counter, Gauge, Registry } from 'prom-client'

/** The content type of the text format `Registry.metrics()` renders (0.0.4). */
export const METRICS_CONTENT_TYPE: string = Registry.PROMETHEUS_CONTENT_TYPE

/** Answers a `/metrics` request on plain node:http with the registry's text, or a 500 saying why not. */
export function sendMetrics(registry: Registry, res: ServerResponse): void {
  registry.metrics().then(
    (text) => res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(text),
    (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics: ${err.message}\n`),
  )
}

/** What every metric here is made with: one registry, no label or one. */
function metricOptions(registry: Registry, name: string, help: string, label: string | undefined) {
  return { name, help, labelNames: label === undefined ? [] : [label], registers: [registry] }
}

/**
 * A gauge whose value `read` returns at each scrape, so it can never drift from the state it reports.
 * With `label`, `read` returns one value per label value (and only those are exposed).
 */
export function readGauge(registry: Registry, name: string, help: string, read: () => number): Gauge
export function readGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => Iterable<readonly [string, number]>,
  label: string,
): Gauge
export function readGauge(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Iterable<readonly [string, number]>,
  label?: string,
): Gauge {
  return new Gauge({
    ...metricOptions(registry, name, help, label),
    collect() {
      const value = read()
      if (typeof value === 'number') return this.set(value)
      this.reset()
      for (const [labelValue, n] of value) this.labels(labelValue).set(n)
    },
  })
}

/** What {@link readHistogram} reads: fixed upper bounds, the count in each bucket (not cumulative), sum and count. */
export interface HistogramState {
  readonly bounds: readonly number[]
  readonly counts: readonly number[]
  readonly sum: number
  readonly count: number
}

/**
 * A histogram the service keeps itself and `read` returns at each scrape. prom-client's own histogram
 * takes one observation per call; a write path that records a whole batch at once (one value, n
 * points) keeps its own buckets instead, and this exposes them in the same format.
 */
export function readHistogram(
  registry: Registry,
  name: string,
  help: string,
  read: () => HistogramState,
): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const h = read()
      let cumulative = 0
      const buckets = h.bounds.map((b, i) => {
        cumulative += h.counts[i] ?? 0
        return { metricName: `${name}_bucket`, labels: { le: String(b) }, value: cumulative }
      })
      return Promise.resolve({
        name,
        help,
        type: 'histogram',
        aggregator: 'sum',
        values: [
          ...buckets,
          { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count },
          { metricName: `${name}_sum`, labels: {}, value: h.sum },
          { metricName: `${name}_count`, labels: {}, value: h.count },
        ],
      })
    },
  }
  // prom-client's registry takes any object with a name and get(); its type names only its own classes.
  registry.registerMetric(metric as unknown as Gauge)
}

/**
 * A counter the service keeps in a plain field and `read` returns at each scrape: an increment on a
 * per-packet path stays a field increment. With `label`, `read` returns one value per label value.
 */
export function readCounter(registry: Registry, name: string, help: string, read: () => number): Counter
export function readCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => Record<string, number>,
  label: string,
): Counter
export function readCounter(
  registry: Registry,
  name: string,
  help: string,
  read: () => number | Record<string, number>,
  label?: string,
): Counter {
  return new Counter({
    ...metricOptions(registry, name, help, label),
    collect() {
      // A counter cannot be set: start from zero and add what the service counted.
      this.reset()
      const value = read()
      if (typeof value === 'number') this.inc(value)
      else for (const [labelValue, n] of Object.entries(value)) this.labels(labelValue).inc(n)
    },
  })
}

/**
 * Metrics that each read one field of a service's state at every scrape: `state` returns the state
 * (the service's counters object, or a snapshot of it) and every metric picks its value from it. Each
 * name is prefixed with `prefix`; a boolean gauge reads 1 or 0.
 */
export function stateMetrics<S>(registry: Registry, state: () => S, prefix = '') {
  return {
    counter: (name: string, help: string, read: (s: S) => number): Counter =>
      readCounter(registry, prefix + name, help, () => read(state())),
    /** A counter with one label: `read` returns the count of each label value. */
    counterBy: (name: string, help: string, label: string, read: (s: S) => Record<string, number>): Counter =>
      readCounter(registry, prefix + name, help, () => read(state()), label),
    gauge: (name: string, help: string, read: (s: S) => number | boolean): Gauge =>
      readGauge(registry, prefix + name, help, () => Number(read(state()))),
    /** A gauge with one label: `read` returns the value of each label value present. */
    gaugeBy: (
      name: string,
      help: string,
      label: string,
      read: (s: S) => Iterable<readonly [string, number]>,
    ): Gauge => readGauge(registry, prefix + name, help, () => read(state()), label),
    histogram: (name: string, help: string, read: (s: S) => HistogramState): void =>
      readHistogram(registry, prefix + name, help, () => read(state())),
  }
}

/**
 * The child of a one-label counter for each label value, made once: a per-message increment then
 * costs a Map lookup instead of building and hashing a label set each time.
 */
export function childrenBy(counter: Counter<string>): (value: string) => Counter.Internal {
  const children = new Map<string, Counter.Internal>()
  return (value) => {
    let child = children.get(value)
    if (child === undefined) {
      child = counter.labels(value)
      children.set(value, child)
    }
    return child
  }
}

/** The current value of one series of a counter (0 when never counted): for tests and status pages. */
export async function counterValue(
  counter: Counter<string>,
  labels: Record<string, string> = {},
): Promise<number> {
  const keys = Object.keys(labels)
  const series = (await counter.get()).values.find(
    (v) =>
      Object.keys(v.labels).length === keys.length &&
      keys.every((k) => String(v.labels[k as keyof typeof v.labels]) === labels[k]),
  )
  return series?.value ?? 0
}
