/** Broker defaults (DESIGN.md "Defaults"); each is overridable by the EVMON_* variable named beside it. */
export const brokerDefaults = {
  host: '127.0.0.1', // EVMON_BROKER_HOST: loopback unless deployed behind a network boundary
  mqttPort: 1883, // EVMON_MQTT_PORT: MQTT over TCP
  wsPort: 8083, // EVMON_MQTT_WS_PORT: MQTT over WebSocket, for browsers and proxies
  wsPath: '/mqtt', // EVMON_MQTT_WS_PATH
  metricsPort: 9101, // EVMON_BROKER_METRICS_PORT: /healthz and Prometheus /metrics
} as const

export interface BrokerConfig {
  host: string
  mqttPort: number
  wsPort: number
  wsPath: string
  /** Health/metrics listener port; `null` or absent turns it off (tests that do not need it). */
  metricsPort?: number | null
}

function parsePort(name: string, raw: string | undefined, fallback: number, errors: string[]): number {
  if (raw === undefined || raw === '') return fallback
  const port = Number(raw)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    errors.push(`${name}=${JSON.stringify(raw)} is not a port number (0-65535)`)
    return fallback
  }
  return port
}

/** Reads the broker's EVMON_* variables once; throws listing every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<BrokerConfig> {
  const errors: string[] = []
  const wsPath = env.EVMON_MQTT_WS_PATH ?? brokerDefaults.wsPath
  if (!wsPath.startsWith('/')) errors.push(`EVMON_MQTT_WS_PATH=${JSON.stringify(wsPath)} must start with "/"`)
  const config: BrokerConfig = {
    host: env.EVMON_BROKER_HOST || brokerDefaults.host,
    mqttPort: parsePort('EVMON_MQTT_PORT', env.EVMON_MQTT_PORT, brokerDefaults.mqttPort, errors),
    wsPort: parsePort('EVMON_MQTT_WS_PORT', env.EVMON_MQTT_WS_PORT, brokerDefaults.wsPort, errors),
    wsPath,
    metricsPort: parsePort(
      'EVMON_BROKER_METRICS_PORT',
      env.EVMON_BROKER_METRICS_PORT,
      brokerDefaults.metricsPort,
      errors,
    ),
  }
  if (errors.length > 0) throw new Error(`invalid broker configuration:\n  ${errors.join('\n  ')}`)
  return Object.freeze(config)
}
