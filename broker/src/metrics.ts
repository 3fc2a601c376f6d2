import { createServer, type Server } from 'node:http'

/** Everything the broker counts; exposed at /metrics. */
export interface BrokerCounters {
  connected: number
  messagesIn: [number, number, number] // by QoS 0, 1, 2
  messagesOut: [number, number, number] // deliveries to subscribers, by QoS
  bytesIn: number
  bytesOut: number
  authFailures: number
  authThrottled: number
  /** Logins whose secret needed the slow scrypt check (not yet remembered as verified). */
  authScryptChecks: number
  aclDenials: number
  /** Sessions closed because their account was removed or its secret rotated. */
  sessionsRevoked: number
  /** Reloads of the credentials file that took effect, and that were refused (old file kept). */
  credentialReloads: number
  credentialReloadErrors: number
  connectionLimit: number
  oversize: number
  rateLimited: number
  clientErrors: number
  /** Writes to Redis a client is waiting on (a publish not yet acknowledged, …); 0 in memory. */
  persistenceWritesPending: number
}

export function newCounters(): BrokerCounters {
  return {
    connected: 0,
    messagesIn: [0, 0, 0],
    messagesOut: [0, 0, 0],
    bytesIn: 0,
    bytesOut: 0,
    authFailures: 0,
    authThrottled: 0,
    authScryptChecks: 0,
    aclDenials: 0,
    sessionsRevoked: 0,
    credentialReloads: 0,
    credentialReloadErrors: 0,
    connectionLimit: 0,
    oversize: 0,
    rateLimited: 0,
    clientErrors: 0,
    persistenceWritesPending: 0,
  }
}

type Sample = [labels: string, value: number]
const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]) =>
  [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map(([l, v]) => `${name}${l} ${v}`)].join(
    '\n',
  )
const byQos = (values: number[]): Sample[] => values.map((v, qos) => [`{qos="${qos}"}`, v])

/** Prometheus text exposition of the broker's counters. */
export function renderMetrics(c: BrokerCounters): string {
  return `${[
    metric('evmon_broker_clients_connected', 'gauge', 'MQTT clients connected now.', [['', c.connected]]),
    metric(
      'evmon_broker_messages_in_total',
      'counter',
      'Messages published by clients.',
      byQos(c.messagesIn),
    ),
    metric(
      'evmon_broker_messages_out_total',
      'counter',
      'Messages delivered to subscribers.',
      byQos(c.messagesOut),
    ),
    metric('evmon_broker_bytes_in_total', 'counter', 'Bytes received from clients.', [['', c.bytesIn]]),
    metric('evmon_broker_bytes_out_total', 'counter', 'Bytes sent to closed connections.', [
      ['', c.bytesOut],
    ]),
    metric('evmon_broker_auth_failures_total', 'counter', 'Refused logins.', [['', c.authFailures]]),
    metric(
      'evmon_broker_auth_scrypt_checks_total',
      'counter',
      'Logins that paid the scrypt check (a secret verified once is remembered).',
      [['', c.authScryptChecks]],
    ),
    metric('evmon_broker_auth_throttled_total', 'counter', 'Logins refused by the guessing limit.', [
      ['', c.authThrottled],
    ]),
    metric(
      'evmon_broker_acl_denials_total',
      'counter',
      'Publishes, subscriptions and wills refused by ACL.',
      [['', c.aclDenials]],
    ),
    metric(
      'evmon_broker_sessions_revoked_total',
      'counter',
      'Sessions closed because their account was removed or rotated.',
      [['', c.sessionsRevoked]],
    ),
    metric(
      'evmon_broker_credential_reloads_total',
      'counter',
      'Reloads of the credentials file, by result (a refused file leaves the old one in force).',
      [
        ['{result="ok"}', c.credentialReloads],
        ['{result="error"}', c.credentialReloadErrors],
      ],
    ),
    metric(
      'evmon_broker_connection_limit_total',
      'counter',
      'Connections refused by the per-identity limit.',
      [['', c.connectionLimit]],
    ),
    metric('evmon_broker_dropped_total', 'counter', 'Messages dropped by a limit.', [
      ['{reason="oversize"}', c.oversize],
      ['{reason="rate"}', c.rateLimited],
    ]),
    metric('evmon_broker_client_errors_total', 'counter', 'Client protocol and connection errors.', [
      ['', c.clientErrors],
    ]),
    metric(
      'evmon_broker_persistence_writes_pending',
      'gauge',
      'Writes to Redis that clients wait on (a publish is acknowledged once its write is done).',
      [['', c.persistenceWritesPending]],
    ),
  ].join('\n')}\n`
}

/** `/healthz` and `/metrics` for the broker; anything else is 404. */
export function createMetricsServer(counters: () => BrokerCounters): Server {
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(counters()))
    } else {
      res.writeHead(404).end()
    }
  })
}
