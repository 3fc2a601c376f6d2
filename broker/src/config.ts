import { defaultLimits, type SecurityLimits } from './security.ts'

/** Broker defaults (DESIGN.md "Defaults"); each is overridable by the EVMON_* variable named beside it. */
export const brokerDefaults = {
  host: '127.0.0.1', // EVMON_BROKER_HOST: loopback unless deployed behind a network boundary
  mqttPort: 1883, // EVMON_MQTT_PORT: MQTT over TCP
  wsPort: 8083, // EVMON_MQTT_WS_PORT: MQTT over WebSocket, for browsers and proxies
  wsPath: '/mqtt', // EVMON_MQTT_WS_PATH
  tlsPort: 8883, // EVMON_MQTT_TLS_PORT: MQTT over TLS, when EVMON_BROKER_TLS_CERT and _KEY are set
  metricsPort: 9101, // EVMON_BROKER_METRICS_PORT: /healthz and Prometheus /metrics
} as const

export interface BrokerConfig {
  host: string
  mqttPort: number
  wsPort: number
  wsPath: string
  /** Health/metrics listener port; `null` or absent turns it off (tests that do not need it). */
  metricsPort?: number | null
  /**
   * Credentials file (salted scrypt hashes, see credentials.ts). Absent means anonymous access with no
   * ACL — only for in-process tests; `loadConfig` refuses it unless EVMON_BROKER_ALLOW_ANONYMOUS=true.
   */
  credentialsFile?: string
  /** MQTT over TLS, PEM files. */
  tls?: { port: number; certFile: string; keyFile: string }
  limits?: Partial<SecurityLimits>
  /** Redis for durable sessions and clustering (aedes-persistence-redis + mqemitter-redis). */
  redisUrl?: string
  /** Log lines (refusals, denials); default console.log. */
  log?: (line: string) => void
}

type Errors = string[]

function parseInteger(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
  errors: Errors,
) {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    errors.push(`${name}=${JSON.stringify(raw)} must be a whole number from ${min} to ${max}`)
    return fallback
  }
  return value
}

const port = (env: NodeJS.ProcessEnv, name: string, fallback: number, errors: Errors) =>
  parseInteger(env, name, fallback, 0, 65_535, errors)

/** Reads the broker's EVMON_* variables once; throws listing every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<BrokerConfig> {
  const errors: Errors = []
  const wsPath = env.EVMON_MQTT_WS_PATH ?? brokerDefaults.wsPath
  if (!wsPath.startsWith('/')) errors.push(`EVMON_MQTT_WS_PATH=${JSON.stringify(wsPath)} must start with "/"`)
  const anonymous = env.EVMON_BROKER_ALLOW_ANONYMOUS ?? 'false'
  if (anonymous !== 'true' && anonymous !== 'false') {
    errors.push(`EVMON_BROKER_ALLOW_ANONYMOUS=${JSON.stringify(anonymous)} must be true or false`)
  }
  const credentialsFile = env.EVMON_BROKER_CREDENTIALS || undefined
  if (!credentialsFile && anonymous !== 'true') {
    errors.push(
      'EVMON_BROKER_CREDENTIALS is not set: stations must authenticate. Create one with ' +
        '`npm run broker -- add-station <site>/<station>` (npm start does this for you), ' +
        'or set EVMON_BROKER_ALLOW_ANONYMOUS=true for a throwaway local broker.',
    )
  }
  const cert = env.EVMON_BROKER_TLS_CERT || undefined
  const key = env.EVMON_BROKER_TLS_KEY || undefined
  if (Boolean(cert) !== Boolean(key))
    errors.push('EVMON_BROKER_TLS_CERT and EVMON_BROKER_TLS_KEY go together')
  if (env.EVMON_REDIS_URL && !/^redis:\/\/[^/]+/.test(env.EVMON_REDIS_URL)) {
    errors.push(
      `EVMON_REDIS_URL=${JSON.stringify(env.EVMON_REDIS_URL)} must look like redis://host:port[/db]`,
    )
  }
  const int = (name: string, fallback: number, min: number, max: number) =>
    parseInteger(env, name, fallback, min, max, errors)
  const limits: SecurityLimits = {
    maxPayloadBytes: int(
      'EVMON_BROKER_MAX_PAYLOAD_BYTES',
      defaultLimits.maxPayloadBytes,
      1,
      256 * 1024 * 1024,
    ),
    maxTopicLevels: int('EVMON_BROKER_MAX_TOPIC_LEVELS', defaultLimits.maxTopicLevels, 5, 100),
    maxConnectionsPerStation: int(
      'EVMON_BROKER_MAX_CONN_PER_STATION',
      defaultLimits.maxConnectionsPerStation,
      1,
      1000,
    ),
    maxConnectionsPerService: int(
      'EVMON_BROKER_MAX_CONN_PER_SERVICE',
      defaultLimits.maxConnectionsPerService,
      1,
      10_000_000,
    ),
    stationPublishRatePerS: int(
      'EVMON_BROKER_STATION_RATE',
      defaultLimits.stationPublishRatePerS,
      1,
      1_000_000,
    ),
    stationPublishBurst: int('EVMON_BROKER_STATION_BURST', defaultLimits.stationPublishBurst, 1, 1_000_000),
    maxAuthFailures: int('EVMON_BROKER_MAX_AUTH_FAILURES', defaultLimits.maxAuthFailures, 1, 1_000_000),
    authFailureWindowMs: defaultLimits.authFailureWindowMs,
  }
  const config: BrokerConfig = {
    host: env.EVMON_BROKER_HOST || brokerDefaults.host,
    mqttPort: port(env, 'EVMON_MQTT_PORT', brokerDefaults.mqttPort, errors),
    wsPort: port(env, 'EVMON_MQTT_WS_PORT', brokerDefaults.wsPort, errors),
    wsPath,
    metricsPort: port(env, 'EVMON_BROKER_METRICS_PORT', brokerDefaults.metricsPort, errors),
    ...(credentialsFile ? { credentialsFile } : {}),
    ...(cert && key
      ? {
          tls: {
            port: port(env, 'EVMON_MQTT_TLS_PORT', brokerDefaults.tlsPort, errors),
            certFile: cert,
            keyFile: key,
          },
        }
      : {}),
    limits,
    ...(env.EVMON_REDIS_URL ? { redisUrl: env.EVMON_REDIS_URL } : {}),
  }
  if (errors.length > 0) throw new Error(`invalid broker configuration:\n  ${errors.join('\n  ')}`)
  return Object.freeze(config)
}
