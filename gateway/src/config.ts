import { assertNoProblems, envVar, logEnv, mqttClientEnv, readEnv, sampleIntervalEnv } from '@evmon/runtime'

/** How the gateway answers Authorize and StartTransaction in central-system mode. */
export type AuthorizePolicy = { kind: 'accept-all' } | { kind: 'id-tags'; idTags: ReadonlySet<string> }

export interface GatewayConfig {
  host: string
  /** OCPP over plain WebSocket (security profile 1), plus `/healthz` and `/metrics`; 0 picks a free port. */
  port: number
  /** OCPP over TLS (security profile 2), when a certificate is configured. */
  tls?: { port: number; certFile: string; keyFile: string }
  /** Charger accounts (identity, station id, salted password hash); watched, so changes apply at once. */
  chargersFile: string
  /** Site modes and charger descriptions (what OCPP does not say); absent: central system, no descriptions. */
  sitesFile?: string
  /** Boot records, issued transaction ids and open transactions, kept across restarts. */
  stateFile: string
  mqttUrl: string
  mqttUsername?: string
  mqttPassword?: string
  /** The contract's telemetry period: each connected charger publishes one sample per period. */
  sampleIntervalMs: number
  /** A reading older than this is no longer carried into samples. */
  staleAfterMs: number
  heartbeatIntervalS: number
  authorize: AuthorizePolicy
  /** When set, chargers are asked to sample meter values this often (ChangeConfiguration / SetVariables). */
  meterIntervalS?: number
  maxFrameBytes: number
  /** Sustained calls per second one charger may make, and the burst above it (a reconnect's queue). */
  callRatePerS: number
  callBurst: number
  /** Publishes waiting for the broker before chargers are held back (README "Broker unavailable"); default 20,000. */
  maxQueued?: number
  /** Failed logins per minute per remote address (and per charger) before further attempts are refused; default 10. */
  maxAuthFailures?: number
  /** Log lines (refusals, bad input); default console.log. */
  log?: (line: string) => void
}

export const DEFAULT_MAX_AUTH_FAILURES = 10
export const DEFAULT_MAX_QUEUED = 20_000

/** The gateway's variables; the README table is generated from them (`npm run docs:env`). */
export const gatewayEnv = {
  ...logEnv,
  host: envVar.string(
    'EVMON_GATEWAY_HOST',
    '127.0.0.1',
    'address the OCPP endpoint binds (loopback unless deployed)',
  ),
  port: envVar.port(
    'EVMON_GATEWAY_PORT',
    9220,
    'OCPP-J over WebSocket (`/ocpp/{site}/{identity}`), `/healthz`, `/metrics`',
  ),
  tlsPort: envVar.port(
    'EVMON_GATEWAY_TLS_PORT',
    9221,
    'OCPP-J over TLS (security profile 2), when a certificate is configured',
  ),
  tlsCert: envVar.string(
    'EVMON_GATEWAY_TLS_CERT',
    undefined,
    'PEM certificate for OCPP over TLS (with the key)',
  ),
  tlsKey: envVar.string(
    'EVMON_GATEWAY_TLS_KEY',
    undefined,
    'PEM private key for OCPP over TLS (with the cert)',
  ),
  chargers: envVar.string(
    'EVMON_GATEWAY_CHARGERS',
    'var/gateway/chargers.json',
    'charger accounts (salted password hashes), managed with `npm run gateway -- add-charger`',
  ),
  sites: envVar.string(
    'EVMON_GATEWAY_SITES',
    undefined,
    'site modes and charger descriptions (JSON, see gateway/README.md)',
  ),
  state: envVar.string(
    'EVMON_GATEWAY_STATE',
    'var/gateway/state.json',
    'boot records, transaction ids and open transactions kept across restarts',
  ),
  ...mqttClientEnv,
  ...sampleIntervalEnv,
  staleAfterMs: envVar.int(
    'EVMON_GATEWAY_STALE_AFTER_MS',
    180_000,
    'a charger reading older than this is no longer carried into telemetry',
    1_000,
    86_400_000,
  ),
  heartbeatS: envVar.int(
    'EVMON_GATEWAY_HEARTBEAT_S',
    300,
    'heartbeat interval given to chargers in BootNotification',
    10,
    86_400,
  ),
  authorize: envVar.oneOf(
    'EVMON_GATEWAY_AUTHORIZE',
    'accept-all',
    'central-system answer to Authorize/StartTransaction: `accept-all` or `id-tags` (EVMON_GATEWAY_ID_TAGS)',
    ['accept-all', 'id-tags'] as const,
  ),
  idTags: envVar.list(
    'EVMON_GATEWAY_ID_TAGS',
    [],
    'id tags accepted under EVMON_GATEWAY_AUTHORIZE=id-tags',
    /^.{1,36}$/,
    'must be 1-36 characters',
  ),
  meterIntervalS: envVar.int(
    'EVMON_GATEWAY_METER_INTERVAL_S',
    undefined,
    'ask chargers to sample meter values this often (unset: leave their setting alone)',
    1,
    3_600,
  ),
  maxFrameBytes: envVar.int(
    'EVMON_GATEWAY_MAX_FRAME_BYTES',
    64 * 1024,
    'larger OCPP frames close the connection (1009)',
    1_024,
    16 * 1024 * 1024,
  ),
  callRate: envVar.int(
    'EVMON_GATEWAY_CALL_RATE',
    10,
    'sustained calls per second one charger may make',
    1,
    100_000,
  ),
  maxAuthFailures: envVar.int(
    'EVMON_GATEWAY_MAX_AUTH_FAILURES',
    DEFAULT_MAX_AUTH_FAILURES,
    'failed logins per minute per address or charger before refusing (429) without checking',
    1,
    1_000_000,
  ),
  maxQueued: envVar.int(
    'EVMON_GATEWAY_MAX_QUEUED',
    DEFAULT_MAX_QUEUED,
    'publishes waiting for an unavailable broker before chargers are held back (gateway/README.md)',
    10,
    10_000_000,
  ),
  callBurst: envVar.int(
    'EVMON_GATEWAY_CALL_BURST',
    200,
    'calls one charger may burst (a reconnect flushing its queue)',
    1,
    1_000_000,
  ),
}

/** Reads the gateway's EVMON_* variables once; throws a ConfigError listing every bad variable at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<GatewayConfig> {
  const { values: v, problems } = readEnv(gatewayEnv, env)
  if (Boolean(v.tlsCert) !== Boolean(v.tlsKey))
    problems.push('EVMON_GATEWAY_TLS_CERT and EVMON_GATEWAY_TLS_KEY go together')
  if (v.authorize === 'id-tags' && v.idTags.length === 0)
    problems.push('EVMON_GATEWAY_AUTHORIZE=id-tags needs EVMON_GATEWAY_ID_TAGS')
  assertNoProblems('gateway', problems)
  return Object.freeze({
    host: v.host,
    port: v.port,
    ...(v.tlsCert && v.tlsKey && { tls: { port: v.tlsPort, certFile: v.tlsCert, keyFile: v.tlsKey } }),
    chargersFile: v.chargers,
    ...(v.sites && { sitesFile: v.sites }),
    stateFile: v.state,
    mqttUrl: v.mqttUrl,
    ...(v.mqttUsername && { mqttUsername: v.mqttUsername }),
    ...(v.mqttPassword && { mqttPassword: v.mqttPassword }),
    sampleIntervalMs: v.sampleIntervalMs,
    staleAfterMs: v.staleAfterMs,
    heartbeatIntervalS: v.heartbeatS,
    authorize: (v.authorize === 'id-tags'
      ? { kind: 'id-tags', idTags: new Set(v.idTags) }
      : { kind: 'accept-all' }) satisfies AuthorizePolicy,
    ...(v.meterIntervalS !== undefined && { meterIntervalS: v.meterIntervalS }),
    maxFrameBytes: v.maxFrameBytes,
    callRatePerS: v.callRate,
    callBurst: v.callBurst,
    maxAuthFailures: v.maxAuthFailures,
    maxQueued: v.maxQueued,
  })
}
