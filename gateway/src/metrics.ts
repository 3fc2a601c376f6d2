import { childrenBy, Counter, counterValue, readGauge, Registry } from '@evmon/runtime'

/** Every counter the gateway keeps: its Prometheus help text and, for counters split by one, its label. */
const COUNTERS = {
  evmon_gateway_upgrades_refused_total: ['WebSocket upgrades refused, by reason.', 'reason'],
  evmon_gateway_connections_total: ['Charger connections accepted, by OCPP version.', 'protocol'],
  evmon_gateway_connections_replaced_total: ['Connections closed because the same charger connected again.'],
  evmon_gateway_calls_total: ['Calls received from chargers, by action.', 'action'],
  evmon_gateway_call_errors_total: ['CALLERRORs sent to chargers, by error code.', 'code'],
  evmon_gateway_bad_frames_total: ['Frames that were not OCPP-J messages (bad JSON, not an array, ...).'],
  evmon_gateway_oversized_frames_total: [
    'Connections closed for a frame above EVMON_GATEWAY_MAX_FRAME_BYTES.',
  ],
  evmon_gateway_rate_limited_total: ['Calls refused because the charger called faster than its limit.'],
  evmon_gateway_before_boot_total: ['Calls refused because the charger had no BootNotification accepted.'],
  evmon_gateway_values_rejected_total: ['Meter values and time stamps not used, by reason.', 'reason'],
  evmon_gateway_unknown_transactions_total: ['Messages naming a transaction the gateway does not know.'],
  evmon_gateway_published_total: ['MQTT messages published, by kind.', 'kind'],
  evmon_gateway_publish_invalid_total: [
    'Messages not published because they failed the contract, by kind.',
    'kind',
  ],
  evmon_gateway_publish_failed_total: ['MQTT publishes the broker did not acknowledge.'],
  evmon_gateway_publish_dropped_total: [
    "Telemetry samples not taken and proxied chargers' messages not published while the broker backlog was full, by kind.",
    'kind',
  ],
  evmon_gateway_held_back_total: [
    'Charger calls left unanswered (connection closed 1013) while the broker backlog was full.',
  ],
  evmon_gateway_events_total: [
    'Charger notifications kept as log events (firmware, diagnostics, security).',
    'type',
  ],
} as const satisfies Record<string, readonly [string, string?]>

export type CounterName = keyof typeof COUNTERS

interface Series {
  counter: Counter<string>
  /** The counter's child for one label value, made once. */
  child: (value: string) => Counter.Internal
}

/** The gateway's counters and gauges (prom-client), rendered in the Prometheus text format at /metrics. */
export class Metrics {
  readonly registry = new Registry()
  private readonly series = new Map<CounterName, Series>()

  /** `gauges`: each gauge's help and the function that reads its value at each scrape. */
  constructor(gauges: Record<string, { help: string; read: () => number }>) {
    for (const [name, { help, read }] of Object.entries(gauges)) readGauge(this.registry, name, help, read)
    for (const [name, [help, label]] of Object.entries(COUNTERS) as [
      CounterName,
      readonly [string, string?],
    ][]) {
      const counter = new Counter({
        name,
        help,
        labelNames: label === undefined ? [] : [label],
        registers: [this.registry],
      })
      this.series.set(name, { counter, child: childrenBy(counter) })
    }
  }

  /** Counts one (or `by`) for `name`; `labels` holds the counter's one label, if it has one. */
  inc(name: CounterName, labels: Record<string, string> = {}, by = 1): void {
    const series = this.series.get(name) as Series
    for (const key in labels) {
      series.child(labels[key] as string).inc(by)
      return
    }
    series.counter.inc(by)
  }

  /** The value of one counter with exactly these labels (0 if never counted). */
  get(name: CounterName, labels: Record<string, string> = {}): Promise<number> {
    return counterValue((this.series.get(name) as Series).counter, labels)
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }
}
