import { createServer, type Server } from 'node:http'
import { Registry, sendMetrics, stateMetrics } from '@evmon/runtime'

/**
 * Everything the broker counts, in plain fields (a per-packet increment stays a field increment);
 * exposed at /metrics through prom-client, read at each scrape.
 */
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
  /** PUBACKs held until their publish is in the subscribers' queues. */
  pubacksHeld: number
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
    pubacksHeld: 0,
  }
}

const byQos = (values: readonly number[]): Record<string, number> => Object.fromEntries(values.entries())

/** A prom-client registry reading the broker's counters at each scrape. */
export function brokerRegistry(counters: () => BrokerCounters): Registry {
  const registry = new Registry()
  const { counter, counterBy, gauge } = stateMetrics(registry, counters)

  gauge('evmon_broker_clients_connected', 'MQTT clients connected now.', (c) => c.connected)
  counterBy('evmon_broker_messages_in_total', 'Messages published by clients.', 'qos', (c) =>
    byQos(c.messagesIn),
  )
  counterBy('evmon_broker_messages_out_total', 'Messages delivered to subscribers.', 'qos', (c) =>
    byQos(c.messagesOut),
  )
  counter('evmon_broker_bytes_in_total', 'Bytes received from clients.', (c) => c.bytesIn)
  counter('evmon_broker_bytes_out_total', 'Bytes sent to closed connections.', (c) => c.bytesOut)
  counter('evmon_broker_auth_failures_total', 'Refused logins.', (c) => c.authFailures)
  counter(
    'evmon_broker_auth_scrypt_checks_total',
    'Logins that paid the scrypt check (a secret verified once is remembered).',
    (c) => c.authScryptChecks,
  )
  counter(
    'evmon_broker_auth_throttled_total',
    'Logins refused by the guessing limit.',
    (c) => c.authThrottled,
  )
  counter(
    'evmon_broker_acl_denials_total',
    'Publishes, subscriptions and wills refused by ACL.',
    (c) => c.aclDenials,
  )
  counter(
    'evmon_broker_sessions_revoked_total',
    'Sessions closed because their account was removed or rotated.',
    (c) => c.sessionsRevoked,
  )
  counterBy(
    'evmon_broker_credential_reloads_total',
    'Reloads of the credentials file, by result (a refused file leaves the old one in force).',
    'result',
    (c) => ({ ok: c.credentialReloads, error: c.credentialReloadErrors }),
  )
  counter(
    'evmon_broker_connection_limit_total',
    'Connections refused by the per-identity limit.',
    (c) => c.connectionLimit,
  )
  counterBy('evmon_broker_dropped_total', 'Messages dropped by a limit.', 'reason', (c) => ({
    oversize: c.oversize,
    rate: c.rateLimited,
  }))
  counter('evmon_broker_client_errors_total', 'Client protocol and connection errors.', (c) => c.clientErrors)
  gauge(
    'evmon_broker_persistence_writes_pending',
    'Writes to Redis that clients wait on (a publish is acknowledged once its write is done).',
    (c) => c.persistenceWritesPending,
  )
  gauge(
    'evmon_broker_pubacks_held',
    'QoS 1 PUBACKs held until aedes has queued their message for every persistent subscriber.',
    (c) => c.pubacksHeld,
  )
  return registry
}

/** `/healthz` and `/metrics` for the broker; anything else is 404. */
export function createMetricsServer(counters: () => BrokerCounters): Server {
  const registry = brokerRegistry(counters)
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (req.url === '/metrics') {
      sendMetrics(registry, res)
    } else {
      res.writeHead(404).end()
    }
  })
}
