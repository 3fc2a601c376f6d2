import { createServer, type Server } from 'node:http'
import { listen, sendMetrics } from '@evmon/runtime'
import { ingestRegistry, isHealthy, type IngestStats } from './metrics.ts'

export interface StatusServer {
  /** `http://host:port` actually bound (port 0 becomes a real port). */
  url: string
  close(): Promise<void>
}

function handler(stats: () => IngestStats): Parameters<typeof createServer>[1] {
  const registry = ingestRegistry(stats)
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
    } else if (path === '/healthz') {
      const s = stats()
      const ok = isHealthy(s)
      const body = {
        status: ok ? 'ok' : 'unhealthy',
        mqtt: s.mqttConnected ? 'connected' : 'disconnected',
        influx: s.lastWriteOk === false ? 'failing' : 'ok',
        spool: s.spoolFull ? 'full' : s.spoolRecords > 0 ? 'draining' : 'empty',
        pendingPoints: s.pendingPoints,
        spooledRecords: s.spoolRecords,
      }
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    } else if (path === '/metrics') {
      sendMetrics(registry, res)
    } else {
      res.writeHead(404).end()
    }
  }
}

/** Serves `/healthz` (200 or 503) and Prometheus `/metrics` on plain node:http. */
export async function startStatusServer(
  host: string,
  port: number,
  stats: () => IngestStats,
): Promise<StatusServer> {
  const server: Server = createServer(handler(stats))
  const bound = await listen(server, port, host)
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeIdleConnections()
      }),
  }
}
