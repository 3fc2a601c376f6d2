import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net'
import { Aedes } from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { BrokerConfig } from './config.ts'
import { createMetricsServer, type BrokerStats } from './metrics.ts'

export interface BrokerHandle {
  /** Bound ports (useful when the config asked for port 0). */
  mqttPort: number
  wsPort: number
  metricsPort: number | null
  /** `mqtt://host:port` of the TCP listener. */
  mqttUrl: string
  /** `ws://host:port/path` of the WebSocket listener. */
  wsUrl: string
  stats(): BrokerStats
  close(): Promise<void>
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}

/** Starts aedes with its TCP and WebSocket listeners; `close()` stops all of them. */
export async function start(config: BrokerConfig): Promise<BrokerHandle> {
  const aedes = await Aedes.createBroker()
  const stats: BrokerStats = { connected: 0, published: 0, clientErrors: 0 }
  aedes.on('client', () => stats.connected++)
  aedes.on('clientDisconnect', () => stats.connected--)
  aedes.on('publish', (_packet, client) => {
    if (client) stats.published++
  })
  // A misbehaving client must never take the broker down: aedes reports it here and carries on.
  aedes.on('clientError', () => stats.clientErrors++)
  aedes.on('connectionError', () => stats.clientErrors++)

  const tcp = createNetServer(aedes.handle)
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n')
  })
  const wss = new WebSocketServer({ server: http, path: config.wsPath })
  wss.on('connection', (socket, req) => {
    const stream = createWebSocketStream(socket)
    stream.on('error', () => socket.terminate())
    aedes.handle(stream, req)
  })
  const metrics = config.metricsPort == null ? null : createMetricsServer(() => stats)

  const mqttPort = await listen(tcp, config.mqttPort, config.host)
  const wsPort = await listen(http, config.wsPort, config.host)
  const metricsPort = metrics ? await listen(metrics, config.metricsPort ?? 0, config.host) : null

  return {
    mqttPort,
    wsPort,
    metricsPort,
    mqttUrl: `mqtt://${config.host}:${mqttPort}`,
    wsUrl: `ws://${config.host}:${wsPort}${config.wsPath}`,
    stats: () => ({ ...stats }),
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await Promise.all([closeServer(tcp), closeServer(http), ...(metrics ? [closeServer(metrics)] : [])])
    },
  }
}
