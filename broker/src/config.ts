import { assertNoProblems, envVar, logEnv, readEnv } from '@evmon/runtime'
import { defaultLimits, type SecurityLimits } from './security.ts'

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
  /**
   * Redis for durable sessions, retained messages and queued QoS 1 messages (aedes-persistence-redis).
   * Absent: all of that lives in memory and a broker restart loses it.
   */
  redisUrl?: string
  /** With `redisUrl`: pass messages between brokers sharing that Redis (mqemitter-redis). */
  cluster?: boolean
  /** On close, the longest wait for publishes in progress to reach their subscribers or Redis. */
  drainMs?: number
  /** Log lines (refusals, denials); default console.log. */
  log?: (line: string) => void
}

/** The broker's variables (docs/design.md "Defaults"); the README table is checked against this. */
export const brokerEnv = {
  ...logEnv,
  host: envVar.string(
    'EVMON_BROKER_HOST',
    '127.0.0.1',
    'address the MQTT listeners bind (loopback unless deployed)',
  ),
  mqttPort: envVar.port('EVMON_MQTT_PORT', 1883, 'MQTT over TCP'),
  wsPort: envVar.port('EVMON_MQTT_WS_PORT', 8083, 'MQTT over WebSocket, for browsers and proxies'),
  wsPath: envVar.string('EVMON_MQTT_WS_PATH', '/mqtt', 'WebSocket path', /^\//, 'must start with "/"'),
  tlsPort: envVar.port('EVMON_MQTT_TLS_PORT', 8883, 'MQTT over TLS, when a certificate is configured'),
  tlsCert: envVar.string(
    'EVMON_BROKER_TLS_CERT',
    undefined,
    'PEM certificate for MQTT over TLS (with the key)',
  ),
  tlsKey: envVar.string(
    'EVMON_BROKER_TLS_KEY',
    undefined,
    'PEM private key for MQTT over TLS (with the cert)',
  ),
  metricsPort: envVar.port('EVMON_BROKER_METRICS_PORT', 9101, '/healthz and Prometheus /metrics'),
  credentials: envVar.string(
    'EVMON_BROKER_CREDENTIALS',
    undefined,
    'credentials file (salted scrypt hashes); required',
  ),
  anonymous: envVar.bool(
    'EVMON_BROKER_ALLOW_ANONYMOUS',
    false,
    'true runs without authentication: throwaway use only',
  ),
  redisUrl: envVar.url(
    'EVMON_REDIS_URL',
    undefined,
    'Redis for sessions, retained and queued QoS 1 messages (`npm start` runs one); unset: memory only',
    ['redis:'],
  ),
  cluster: envVar.bool(
    'EVMON_BROKER_CLUSTER',
    false,
    'true: brokers sharing `EVMON_REDIS_URL` pass messages to each other (several brokers, one address)',
  ),
  drainMs: envVar.int(
    'EVMON_BROKER_DRAIN_MS',
    8_000,
    'on SIGTERM, longest wait for queued messages to reach a subscriber or Redis before exiting',
    0,
    600_000,
  ),
  maxPayloadBytes: envVar.int(
    'EVMON_BROKER_MAX_PAYLOAD_BYTES',
    defaultLimits.maxPayloadBytes,
    'larger publishes are dropped and the client disconnected',
    1,
    256 * 1024 * 1024,
  ),
  maxTopicLevels: envVar.int(
    'EVMON_BROKER_MAX_TOPIC_LEVELS',
    defaultLimits.maxTopicLevels,
    'deeper topics are refused',
    5,
    100,
  ),
  maxConnPerStation: envVar.int(
    'EVMON_BROKER_MAX_CONN_PER_STATION',
    defaultLimits.maxConnectionsPerStation,
    'concurrent connections per station account',
    1,
    1000,
  ),
  maxConnPerService: envVar.int(
    'EVMON_BROKER_MAX_CONN_PER_SERVICE',
    defaultLimits.maxConnectionsPerService,
    'concurrent connections per service account',
    1,
    10_000_000,
  ),
  stationRate: envVar.int(
    'EVMON_BROKER_STATION_RATE',
    defaultLimits.stationPublishRatePerS,
    'publishes per second per station connection',
    1,
    1_000_000,
  ),
  stationBurst: envVar.int(
    'EVMON_BROKER_STATION_BURST',
    defaultLimits.stationPublishBurst,
    'publishes a station connection may burst',
    1,
    1_000_000,
  ),
  maxAuthFailures: envVar.int(
    'EVMON_BROKER_MAX_AUTH_FAILURES',
    defaultLimits.maxAuthFailures,
    'failed logins per minute per address or username before refusing',
    1,
    1_000_000,
  ),
}

/** Reads the broker's EVMON_* variables once; throws a ConfigError listing every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<BrokerConfig> {
  const { values: v, problems } = readEnv(brokerEnv, env)
  if (!v.credentials && !v.anonymous) {
    problems.push(
      'EVMON_BROKER_CREDENTIALS is not set: stations must authenticate. Create one with ' +
        '`npm run broker -- add-station <site>/<station>` (npm start does this for you), ' +
        'or set EVMON_BROKER_ALLOW_ANONYMOUS=true for a throwaway local broker.',
    )
  }
  if (v.cluster && !v.redisUrl) problems.push('EVMON_BROKER_CLUSTER=true needs EVMON_REDIS_URL')
  if (Boolean(v.tlsCert) !== Boolean(v.tlsKey))
    problems.push('EVMON_BROKER_TLS_CERT and EVMON_BROKER_TLS_KEY go together')
  assertNoProblems('broker', problems)
  return Object.freeze({
    host: v.host,
    mqttPort: v.mqttPort,
    wsPort: v.wsPort,
    wsPath: v.wsPath,
    metricsPort: v.metricsPort,
    ...(v.credentials ? { credentialsFile: v.credentials } : {}),
    ...(v.tlsCert && v.tlsKey ? { tls: { port: v.tlsPort, certFile: v.tlsCert, keyFile: v.tlsKey } } : {}),
    ...(v.redisUrl ? { redisUrl: v.redisUrl, cluster: v.cluster } : {}),
    drainMs: v.drainMs,
    limits: {
      maxPayloadBytes: v.maxPayloadBytes,
      maxTopicLevels: v.maxTopicLevels,
      maxConnectionsPerStation: v.maxConnPerStation,
      maxConnectionsPerService: v.maxConnPerService,
      stationPublishRatePerS: v.stationRate,
      stationPublishBurst: v.stationBurst,
      maxAuthFailures: v.maxAuthFailures,
      authFailureWindowMs: defaultLimits.authFailureWindowMs,
    },
  })
}
