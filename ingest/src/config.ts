import { assertNoProblems, envVar, influxEnv, logEnv, mqttClientEnv, readEnv } from '@evmon/runtime'

export { ConfigError } from '@evmon/runtime'

/**
 * The ingest's variables and defaults (docs/design.md "Defaults"); the README table and `.env.example` are
 * generated from them (`npm run docs:env`). Keys are the {@link IngestConfig} fields they set.
 */
export const ingestEnv = {
  ...logEnv,
  ...mqttClientEnv,
  clientId: envVar.string(
    'EVMON_INGEST_CLIENT_ID',
    'evmon-ingest',
    'fixed MQTT client id: the broker keeps the session while ingest is away',
    /^[\x21-\x7e]{1,128}$/,
    'must be 1-128 printable ASCII characters',
  ),
  connectTimeoutMs: envVar.int(
    'EVMON_INGEST_CONNECT_TIMEOUT_MS',
    30_000,
    'start fails when the broker is not reached by then',
    100,
    600_000,
  ),
  influxApi: envVar.oneOf(
    'EVMON_INFLUX_API',
    'v1',
    '`v1`: InfluxDB 1.x through the `influx` package (tested against a live 1.6.7); `v2`: InfluxDB ' +
      '2.x/3.x/Cloud through `@influxdata/influxdb-client` (tested against a local endpoint that checks ' +
      'the v2 write protocol, not a live 2.x server)',
    ['v1', 'v2'] as const,
  ),
  ...influxEnv,
  influxBucket: envVar.string(
    'EVMON_INFLUX_BUCKET',
    'evmon',
    'bucket, with `EVMON_INFLUX_API=v2` (provisioned, not created)',
    /^[^\s]{1,255}$/,
    'must be 1-255 non-blank characters',
  ),
  influxOrg: envVar.string(
    'EVMON_INFLUX_ORG',
    undefined,
    'organisation, required with `EVMON_INFLUX_API=v2`',
  ),
  influxToken: envVar.secret('EVMON_INFLUX_TOKEN', 'API token, required with `EVMON_INFLUX_API=v2`'),
  batchSizePoints: envVar.int(
    'EVMON_INGEST_BATCH_SIZE',
    5_000,
    "points per InfluxDB write; InfluxDB's sweet spot is 5-10k",
    1,
    100_000,
  ),
  flushIntervalMs: envVar.int(
    'EVMON_INGEST_FLUSH_MS',
    250,
    'a partial batch is written this long after its first point, or as soon as a write slot frees after that',
    1,
    60_000,
  ),
  maxConcurrentWrites: envVar.int(
    'EVMON_INGEST_MAX_CONCURRENT_WRITES',
    2,
    'writes in flight (InfluxDB 1.x answers "error syncing wal" to many at once)',
    1,
    4,
  ),
  maxPendingPoints: envVar.int(
    'EVMON_INGEST_MAX_PENDING_POINTS',
    100_000,
    'above this, ingest stops reading MQTT until writes catch up',
    1,
    10_000_000,
  ),
  writeTimeoutMs: envVar.int(
    'EVMON_INGEST_WRITE_TIMEOUT_MS',
    30_000,
    'one HTTP write, then it counts as failed and is retried',
    100,
    600_000,
  ),
  retryInitialMs: envVar.int(
    'EVMON_INGEST_RETRY_INITIAL_MS',
    250,
    'first back-off after a failed write (exponential, with jitter)',
    1,
    60_000,
  ),
  retryMaxMs: envVar.int(
    'EVMON_INGEST_RETRY_MAX_MS',
    30_000,
    'back-off cap while InfluxDB is down',
    1,
    600_000,
  ),
  closeTimeoutMs: envVar.int(
    'EVMON_INGEST_CLOSE_TIMEOUT_MS',
    10_000,
    'shutdown waits this long for pending writes',
    0,
    600_000,
  ),
  metricsHost: envVar.string(
    'EVMON_INGEST_METRICS_HOST',
    '127.0.0.1',
    'address of `/healthz` and `/metrics`',
  ),
  metricsPort: envVar.port('EVMON_INGEST_METRICS_PORT', 9102, '`/healthz`, `/metrics`; 0 picks a free port'),
  deadLetterPath: envVar.string(
    'EVMON_INGEST_DEAD_LETTER',
    'var/ingest/dead-letter.ndjson',
    "dead-letter store: every rejected message, fsync'd before it is acknowledged (`npm run ingest -- dead-letters`, `redrive`)",
  ),
  deadLetterMaxBytes: envVar.int(
    'EVMON_INGEST_DEAD_LETTER_MAX_BYTES',
    1024 * 1024 * 1024,
    'dead-letter quota: warns at 80%; when full, rejected messages are held unacknowledged (nothing is dropped)',
    4_096,
    2 ** 50,
  ),
  maxHeldMessages: envVar.int(
    'EVMON_INGEST_DEAD_LETTER_MAX_HELD',
    10_000,
    'rejected messages held unacknowledged while the dead-letter store is full; above this, ingest stops reading',
    1,
    30_000,
  ),
  spoolDir: envVar.string(
    'EVMON_INGEST_SPOOL_DIR',
    'var/ingest/spool',
    "on-disk spool (one per instance): accepted points wait here, fsync'd, while InfluxDB is away",
  ),
  spoolMaxBytes: envVar.int(
    'EVMON_INGEST_SPOOL_MAX_BYTES',
    1024 * 1024 * 1024,
    'spool quota; when full, ingest stops acknowledging (the broker holds messages) and raises an alert',
    1024 * 1024,
    2 ** 50,
  ),
  registerResetGapMs: envVar.int(
    'EVMON_INGEST_REGISTER_RESET_GAP_MS',
    5 * 60_000,
    'a register drop after this long without samples (or with `seq` restarting) is a meter reset, not bad data',
    1_000,
    30 * 86_400_000,
  ),
  // A share name may not contain the topic separators or wildcards (MQTT 5 §4.8.2).
  shareGroup: envVar.string(
    'EVMON_INGEST_SHARE_GROUP',
    undefined,
    'MQTT 5 shared subscription group: replicas split `$share/<group>/evmon/v1/#` (unset: plain subscription)',
    /^[A-Za-z0-9_-]{1,64}$/,
    'must match [A-Za-z0-9_-]{1,64}',
  ),
}

/** Validated, frozen ingest configuration; see {@link ingestEnv} for the meaning of each entry. */
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
  maxHeldMessages: number
  spoolDir: string
  spoolMaxBytes: number
  registerResetGapMs: number
  /** EVMON_INGEST_SHARE_GROUP: subscribe as `$share/<group>/evmon/v1/#` over MQTT 5 (unset: plain subscription). */
  shareGroup?: string
}

/**
 * Reads the ingest's EVMON_* variables once, validates them and freezes the result.
 * @throws ConfigError listing every bad variable at once.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<IngestConfig> {
  const { values: v, problems } = readEnv(ingestEnv, env)
  const pair = (user: keyof typeof v, password: keyof typeof v) => {
    if ((v[user] === undefined) !== (v[password] === undefined))
      problems.push(`${ingestEnv[user].name} and ${ingestEnv[password].name} must be set together`)
  }
  pair('mqttUsername', 'mqttPassword')
  pair('influxUsername', 'influxPassword')
  const {
    mqttUsername,
    mqttPassword,
    influxUsername,
    influxPassword,
    influxOrg,
    influxToken,
    shareGroup,
    ...rest
  } = v
  const config: IngestConfig = { ...rest }
  if (shareGroup !== undefined) config.shareGroup = shareGroup
  if (mqttUsername !== undefined) Object.assign(config, { mqttUsername, mqttPassword })
  if (influxUsername !== undefined) Object.assign(config, { influxUsername, influxPassword })
  if (config.influxApi === 'v2') {
    if (influxOrg === undefined) problems.push('EVMON_INFLUX_ORG is required with EVMON_INFLUX_API=v2')
    if (influxToken === undefined) problems.push('EVMON_INFLUX_TOKEN is required with EVMON_INFLUX_API=v2')
    Object.assign(config, { influxOrg, influxToken })
  }
  if (config.retryMaxMs < config.retryInitialMs) {
    problems.push('EVMON_INGEST_RETRY_MAX_MS must not be below EVMON_INGEST_RETRY_INITIAL_MS')
  }
  if (config.maxPendingPoints < config.batchSizePoints) {
    problems.push('EVMON_INGEST_MAX_PENDING_POINTS must not be below EVMON_INGEST_BATCH_SIZE')
  }
  assertNoProblems('ingest', problems)
  return Object.freeze(config)
}
