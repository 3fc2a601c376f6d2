import { createServer, type Server } from 'node:http'

export interface BrokerStats {
  /** Clients connected now. */
  connected: number
  /** Messages published by clients since start. */
  published: number
  /** Protocol or connection errors reported by aedes since start. */
  clientErrors: number
}

/** Prometheus text exposition of the broker's counters. */
export function renderMetrics(stats: BrokerStats): string {
  return [
    '# HELP evmon_broker_clients_connected MQTT clients connected now.',
    '# TYPE evmon_broker_clients_connected gauge',
    `evmon_broker_clients_connected ${stats.connected}`,
    '# HELP evmon_broker_messages_published_total Messages published by clients.',
    '# TYPE evmon_broker_messages_published_total counter',
    `evmon_broker_messages_published_total ${stats.published}`,
    '# HELP evmon_broker_client_errors_total Client protocol and connection errors.',
    '# TYPE evmon_broker_client_errors_total counter',
    `evmon_broker_client_errors_total ${stats.clientErrors}`,
    '',
  ].join('\n')
}

/** `/healthz` and `/metrics` for the broker; anything else is 404. */
export function createMetricsServer(stats: () => BrokerStats): Server {
  return createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}')
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(stats()))
    } else {
      res.writeHead(404).end()
    }
  })
}
