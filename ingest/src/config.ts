/**
 * Ingest defaults (DESIGN.md "Defaults"); each is overridable by the EVMON_* variable named beside it.
 */
export const ingestDefaults = {
  mqttUrl: 'mqtt://127.0.0.1:1883', // EVMON_MQTT_URL: the broker's TCP listener
  clientId: 'evmon-ingest', // EVMON_INGEST_CLIENT_ID: fixed, so the broker keeps our session while we are away
  connectTimeoutMs: 30_000, // EVMON_INGEST_CONNECT_TIMEOUT_MS: start() fails if the broker is not reached by then
  influxApi: 'v1', // EVMON_INFLUX_API: v1 (/write, InfluxDB 1.x) or v2 (/api/v2/write, InfluxDB 2.x/3.x)
  influxUrl: 'http://127.0.0.1:8086', // EVMON_INFLUX_URL
  influxDb: 'evmon', // EVMON_INFLUX_DB: v1 database, created at start if absent
  influxBucket: 'evmon', // EVMON_INFLUX_BUCKET: v2 bucket (provisioned, not created); also EVMON_INFLUX_ORG, _TOKEN
  batchSizePoints: 5_000, // EVMON_INGEST_BATCH_SIZE: points per write; InfluxDB's sweet spot is 5-10k
  flushIntervalMs: 1_000, // EVMON_INGEST_FLUSH_MS: a partial batch waits at most this long
  maxConcurrentWrites: 2, // EVMON_INGEST_MAX_CONCURRENT_WRITES: 1.x answers "error syncing wal" to many at once
  maxPendingPoints: 100_000, // EVMON_INGEST_MAX_PENDING_POINTS: above this, stop reading MQTT until writes catch up
  writeTimeoutMs: 30_000, // EVMON_INGEST_WRITE_TIMEOUT_MS: one HTTP write, then it counts as failed and is retried
  retryInitialMs: 250, // EVMON_INGEST_RETRY_INITIAL_MS: first back-off after a failed write
  retryMaxMs: 30_000, // EVMON_INGEST_RETRY_MAX_MS: back-off cap while InfluxDB is down
  closeTimeoutMs: 10_000, // EVMON_INGEST_CLOSE_TIMEOUT_MS: close() stops waiting for writes after this
  metricsHost: '127.0.0.1', // EVMON_INGEST_METRICS_HOST: /healthz and /metrics listener address
  metricsPort: 9102, // EVMON_INGEST_METRICS_PORT: 0 picks a free port (tests)
  deadLetterPath: 'var/ingest/dead-letter.ndjson', // EVMON_INGEST_DEAD_LETTER: rejected input, for inspection
  deadLetterMaxBytes: 50 * 1024 * 1024, // EVMON_INGEST_DEAD_LETTER_MAX_BYTES: then rotate to `<path>.1`
  spoolDir: 'var/ingest/spool', // EVMON_INGEST_SPOOL_DIR: fsync'd batches while InfluxDB is away, plus session state
  spoolMaxBytes: 1024 * 1024 * 1024, // EVMON_INGEST_SPOOL_MAX_BYTES: disk quota; when full, stop acknowledging
  registerResetGapMs: 5 * 60_000, // EVMON_INGEST_REGISTER_RESET_GAP_MS: a register drop after this long a silence is a reset
} as const

/** Validated, frozen ingest configuration; see {@link ingestDefaults} for the meaning of each entry. */
export interface IngestConfig {
  mqttUrl: string
  mqttUsername?: string
  mqttPassword?: string
  clientId: string
  connectTimeoutMs: number
  influxApi: 'v1' | 'v2'
  influxUrl: string
  influxDb: string
  influxUsername?: string
  influxPassword?: string
  influxBucket: string
  influxOrg?: string
  influxToken?: string
  batchSizePoints: number
  flushIntervalMs: number
  maxConcurrentWrites: number
  maxPendingPoints: number
  writeTimeoutMs: number
  retryInitialMs: number
  retryMaxMs: number
  closeTimeoutMs: number
  metricsHost: string
  metricsPort: number
  deadLetterPath: string
  deadLetterMaxBytes: number
  spoolDir: string
  spoolMaxBytes: number
  registerResetGapMs: number
  /** EVMON_INGEST_SHARE_GROUP: subscribe as `$share/<group>/evmon/v1/#` over MQTT 5 (unset: plain subscription). */
  shareGroup?: string
}

/** Thrown by {@link loadConfig}; `problems` names every bad variable, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(readonly problems: string[]) {
    super(`invalid ingest configuration:\n  ${problems.join('\n  ')}`)
  }
}

type Env = Record<string, string | undefined>

class Reader {
  readonly problems: string[] = []
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value === '' ? undefined : value
  }

  string(name: string, fallback: string, pattern?: RegExp, hint?: string): string {
    const value = this.raw(name) ?? fallback
    if (pattern && !pattern.test(value)) this.problems.push(`${name}=${JSON.stringify(value)} ${hint}`)
    return value
  }

  url(name: string, fallback: string, protocols: string[]): string {
    const value = this.raw(name) ?? fallback
    let url: URL
    try {
      url = new URL(value)
    } catch {
      this.problems.push(`${name}=${JSON.stringify(value)} is not a URL`)
      return value
    }
    if (!protocols.includes(url.protocol)) {
      this.problems.push(`${name}=${JSON.stringify(value)} must use ${protocols.join(' or ')}`)
    }
    return value
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const n = Number(value)
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      this.problems.push(`${name}=${JSON.stringify(value)} is not an integer in ${min}..${max}`)
      return fallback
    }
    return n
  }

  choice<T extends string>(name: string, fallback: T, values: readonly T[]): T {
    const value = this.raw(name) ?? fallback
    if (!values.includes(value as T)) {
      this.problems.push(`${name}=${JSON.stringify(value)} must be one of ${values.join(', ')}`)
      return fallback
    }
    return value as T
  }

  optional(name: string): string | undefined {
    return this.raw(name)
  }

  pair(userName: string, passwordName: string): [string | undefined, string | undefined] {
    const user = this.raw(userName)
    const password = this.raw(passwordName)
    if ((user === undefined) !== (password === undefined)) {
      this.problems.push(`${userName} and ${passwordName} must be set together`)
    }
    return [user, password]
  }
}

/**
 * Reads the ingest's EVMON_* variables once, validates them and freezes the result.
 * @throws ConfigError listing every bad variable at once.
 */
export function loadConfig(env: Env = process.env): Readonly<IngestConfig> {
  const r = new Reader(env)
  const d = ingestDefaults
  const [mqttUsername, mqttPassword] = r.pair('EVMON_MQTT_USERNAME', 'EVMON_MQTT_PASSWORD')
  const [influxUsername, influxPassword] = r.pair('EVMON_INFLUX_USERNAME', 'EVMON_INFLUX_PASSWORD')
  const config: IngestConfig = {
    mqttUrl: r.url('EVMON_MQTT_URL', d.mqttUrl, ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:']),
    clientId: r.string(
      'EVMON_INGEST_CLIENT_ID',
      d.clientId,
      /^[\x21-\x7e]{1,128}$/,
      'must be 1-128 printable ASCII characters',
    ),
    connectTimeoutMs: r.int('EVMON_INGEST_CONNECT_TIMEOUT_MS', d.connectTimeoutMs, 100, 600_000),
    influxApi: r.choice<IngestConfig['influxApi']>('EVMON_INFLUX_API', d.influxApi, ['v1', 'v2']),
    influxUrl: r.url('EVMON_INFLUX_URL', d.influxUrl, ['http:', 'https:']),
    // Kept to a safe character set: the name goes into a CREATE DATABASE statement and a query string.
    influxDb: r.string(
      'EVMON_INFLUX_DB',
      d.influxDb,
      /^[A-Za-z0-9_-]{1,64}$/,
      'must match [A-Za-z0-9_-]{1,64}',
    ),
    influxBucket: r.string(
      'EVMON_INFLUX_BUCKET',
      d.influxBucket,
      /^[^\s]{1,255}$/,
      'must be 1-255 non-blank characters',
    ),
    batchSizePoints: r.int('EVMON_INGEST_BATCH_SIZE', d.batchSizePoints, 1, 100_000),
    flushIntervalMs: r.int('EVMON_INGEST_FLUSH_MS', d.flushIntervalMs, 1, 60_000),
    maxConcurrentWrites: r.int('EVMON_INGEST_MAX_CONCURRENT_WRITES', d.maxConcurrentWrites, 1, 4),
    maxPendingPoints: r.int('EVMON_INGEST_MAX_PENDING_POINTS', d.maxPendingPoints, 1, 10_000_000),
    writeTimeoutMs: r.int('EVMON_INGEST_WRITE_TIMEOUT_MS', d.writeTimeoutMs, 100, 600_000),
    retryInitialMs: r.int('EVMON_INGEST_RETRY_INITIAL_MS', d.retryInitialMs, 1, 60_000),
    retryMaxMs: r.int('EVMON_INGEST_RETRY_MAX_MS', d.retryMaxMs, 1, 600_000),
    closeTimeoutMs: r.int('EVMON_INGEST_CLOSE_TIMEOUT_MS', d.closeTimeoutMs, 0, 600_000),
    metricsHost: r.string('EVMON_INGEST_METRICS_HOST', d.metricsHost),
    metricsPort: r.int('EVMON_INGEST_METRICS_PORT', d.metricsPort, 0, 65_535),
    deadLetterPath: r.string('EVMON_INGEST_DEAD_LETTER', d.deadLetterPath),
    deadLetterMaxBytes: r.int('EVMON_INGEST_DEAD_LETTER_MAX_BYTES', d.deadLetterMaxBytes, 4_096, 2 ** 40),
    spoolDir: r.string('EVMON_INGEST_SPOOL_DIR', d.spoolDir),
    spoolMaxBytes: r.int('EVMON_INGEST_SPOOL_MAX_BYTES', d.spoolMaxBytes, 1024 * 1024, 2 ** 50),
    registerResetGapMs: r.int(
      'EVMON_INGEST_REGISTER_RESET_GAP_MS',
      d.registerResetGapMs,
      1_000,
      30 * 86_400_000,
    ),
  }
  // A share name may not contain the topic separators or wildcards (MQTT 5 §4.8.2).
  const shareGroup = r.optional('EVMON_INGEST_SHARE_GROUP')
  if (shareGroup !== undefined) {
    config.shareGroup = r.string(
      'EVMON_INGEST_SHARE_GROUP',
      shareGroup,
      /^[A-Za-z0-9_-]{1,64}$/,
      'must match [A-Za-z0-9_-]{1,64}',
    )
  }
  if (mqttUsername !== undefined) Object.assign(config, { mqttUsername, mqttPassword })
  if (influxUsername !== undefined) Object.assign(config, { influxUsername, influxPassword })
  const influxOrg = r.optional('EVMON_INFLUX_ORG')
  const influxToken = r.optional('EVMON_INFLUX_TOKEN')
  if (config.influxApi === 'v2') {
    if (influxOrg === undefined) r.problems.push('EVMON_INFLUX_ORG is required with EVMON_INFLUX_API=v2')
    if (influxToken === undefined) r.problems.push('EVMON_INFLUX_TOKEN is required with EVMON_INFLUX_API=v2')
    Object.assign(config, { influxOrg, influxToken })
  }
  if (config.retryMaxMs < config.retryInitialMs) {
    r.problems.push('EVMON_INGEST_RETRY_MAX_MS must not be below EVMON_INGEST_RETRY_INITIAL_MS')
  }
  if (config.maxPendingPoints < config.batchSizePoints) {
    r.problems.push('EVMON_INGEST_MAX_PENDING_POINTS must not be below EVMON_INGEST_BATCH_SIZE')
  }
  if (r.problems.length > 0) throw new ConfigError(r.problems)
  return Object.freeze(config)
}
