// A minimal Prometheus text-format registry: the API exposes a handful of counters and gauges, which
// does not justify a client library and its default process collectors.

type Labels = Record<string, string>

// Exposition format: label values escape backslash, double quote and newline.
const escapeLabel = (value: string): string =>
  value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))

const formatLabels = (labels: Labels): string => {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

/** A monotonically increasing count, one series per label combination. */
export class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>()

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels).value += by
  }

  /** An increment-by-one for one label combination, for hot paths that hold on to it. */
  incrementer(labels: Labels): () => void {
    const entry = this.entry(labels)
    return () => {
      entry.value++
    }
  }

  private entry(labels: Labels): { labels: Labels; value: number } {
    const key = formatLabels(labels)
    let entry = this.series.get(key)
    if (entry === undefined) {
      entry = { labels, value: 0 }
      this.series.set(key, entry)
    }
    return entry
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`]
    for (const [key, { value }] of this.series) lines.push(`${this.name}${key} ${value}`)
    return lines.join('\n')
  }
}

/** A value read when scraped, so it can never drift from the state it reports. */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${this.read()}`,
    ].join('\n')
  }
}

/** The API's metrics; gauges are attached by the components that own the state they read. */
export class ApiMetrics {
  readonly httpRequests = new Counter(
    'evmon_api_http_requests_total',
    'HTTP requests by method, route and status.',
  )
  readonly mqttMessages = new Counter('evmon_api_mqtt_messages_total', 'Accepted MQTT messages by kind.')
  readonly mqttRejected = new Counter('evmon_api_mqtt_rejected_total', 'Rejected MQTT messages by reason.')
  private readonly gauges: Gauge[] = []

  /** Adds a gauge whose value `read` returns at each scrape. */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push(new Gauge(name, help, read))
  }

  /** The whole registry in Prometheus text format 0.0.4. */
  render(): string {
    const all = [this.httpRequests, this.mqttMessages, this.mqttRejected, ...this.gauges]
    return `${all.map((m) => m.render()).join('\n')}\n`
  }
}
