import { childrenBy, Counter, readGauge, Registry } from '@evmon/runtime'

/** The API's metrics; gauges are attached by the components that own the state they read. */
export class ApiMetrics {
  readonly registry = new Registry()
  readonly httpRequests = new Counter({
    name: 'evmon_api_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [this.registry],
  })
  /** Accepted MQTT messages, one child per kind. */
  readonly mqttMessages = this.counterBy(
    'evmon_api_mqtt_messages_total',
    'Accepted MQTT messages by kind.',
    'kind',
  )
  /** Rejected MQTT messages, one child per reason. */
  readonly mqttRejected = this.counterBy(
    'evmon_api_mqtt_rejected_total',
    'Rejected MQTT messages by reason.',
    'reason',
  )

  /** A counter with one label, its children kept by value (the hot path looks a child up, never builds one). */
  private counterBy(name: string, help: string, label: string): (value: string) => Counter.Internal {
    return childrenBy(new Counter({ name, help, labelNames: [label], registers: [this.registry] }))
  }

  /** Adds a gauge whose value `read` returns at each scrape. */
  gauge(name: string, help: string, read: () => number): void {
    readGauge(this.registry, name, help, read)
  }
}
