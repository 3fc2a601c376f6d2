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
  readonly mqttMessages = childrenBy(
    new Counter({
      name: 'evmon_api_mqtt_messages_total',
      help: 'Accepted MQTT messages by kind.',
      labelNames: ['kind'],
      registers: [this.registry],
    }),
  )
  /** Rejected MQTT messages, one child per reason. */
  readonly mqttRejected = childrenBy(
    new Counter({
      name: 'evmon_api_mqtt_rejected_total',
      help: 'Rejected MQTT messages by reason.',
      labelNames: ['reason'],
      registers: [this.registry],
    }),
  )

  /** Adds a gauge whose value `read` returns at each scrape. */
  gauge(name: string, help: string, read: () => number): void {
    readGauge(this.registry, name, help, read)
  }
}
