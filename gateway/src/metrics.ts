/** Every counter the gateway keeps, with its Prometheus help text; labels are given per increment. */
const COUNTERS = {
  evmon_gateway_upgrades_refused_total: 'WebSocket upgrades refused, by reason.',
  evmon_gateway_connections_total: 'Charger connections accepted, by OCPP version.',
  evmon_gateway_connections_replaced_total: 'Connections closed because the same charger connected again.',
  evmon_gateway_calls_total: 'Calls received from chargers, by action.',
  evmon_gateway_call_errors_total: 'CALLERRORs sent to chargers, by error code.',
  evmon_gateway_bad_frames_total: 'Frames that were not OCPP-J messages (bad JSON, not an array, ...).',
  evmon_gateway_oversized_frames_total: 'Connections closed for a frame above EVMON_GATEWAY_MAX_FRAME_BYTES.',
  evmon_gateway_rate_limited_total: 'Calls refused because the charger called faster than its limit.',
  evmon_gateway_before_boot_total: 'Calls refused because the charger had no BootNotification accepted.',
  evmon_gateway_values_rejected_total: 'Meter values and time stamps not used, by reason.',
  evmon_gateway_unknown_transactions_total: 'Messages naming a transaction the gateway does not know.',
  evmon_gateway_published_total: 'MQTT messages published, by kind.',
  evmon_gateway_publish_invalid_total: 'Messages not published because they failed the contract, by kind.',
  evmon_gateway_publish_failed_total: 'MQTT publishes the broker did not acknowledge.',
  evmon_gateway_events_total: 'Charger notifications kept as log events (firmware, diagnostics, security).',
} as const

export type CounterName = keyof typeof COUNTERS

/** The gateway's counters and gauges, rendered in the Prometheus text format at /metrics. */
export class Metrics {
  private readonly values = new Map<string, number>()
  constructor(private readonly gauges: () => Record<string, { help: string; value: number }>) {}

  inc(name: CounterName, labels: Record<string, string> = {}, by = 1): void {
    const key = `${name}${labelText(labels)}`
    this.values.set(key, (this.values.get(key) ?? 0) + by)
  }

  /** The value of one counter with exactly these labels (0 if never counted). */
  get(name: CounterName, labels: Record<string, string> = {}): number {
    return this.values.get(`${name}${labelText(labels)}`) ?? 0
  }

  render(): string {
    const lines: string[] = []
    for (const [name, { help, value }] of Object.entries(this.gauges())) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`)
    }
    for (const [name, help] of Object.entries(COUNTERS)) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`)
      const samples = [...this.values].filter(([key]) => key === name || key.startsWith(`${name}{`))
      if (samples.length === 0) lines.push(`${name} 0`)
      for (const [key, value] of samples) lines.push(`${key} ${value}`)
    }
    return `${lines.join('\n')}\n`
  }
}

const escape = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels)
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`
}
