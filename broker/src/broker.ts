import { readFileSync } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net'
import { Duplex, Writable } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes, type AedesOptions } from 'aedes'
import { createWebSocketStream, WebSocketServer } from 'ws'
import type { BrokerConfig } from './config.ts'
import { Credentials } from './credentials.ts'
import { PacketSizeGuard } from './limits.ts'
import { redisBackends } from './redis.ts'
import { createMetricsServer, newCounters, type BrokerCounters } from './metrics.ts'
import { indexOutgoing, type OutgoingMethods } from './outgoing.ts'
import { defaultLimits, remoteAddresses, securityHooks } from './security.ts'

export interface BrokerHandle {
  /** Bound ports (useful when the config asked for port 0). */
  mqttPort: number
  wsPort: number
  tlsPort: number | null
  metricsPort: number | null
  /** `mqtt://host:port` of the TCP listener. */
  mqttUrl: string
  /** `ws://host:port/path` of the WebSocket listener. */
  wsUrl: string
  counters(): BrokerCounters
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

/**
 * The socket side of a connection, gathering what aedes writes during one turn of the event loop into
 * one system call. aedes writes every packet on its own (each delivery, each PUBACK, from its own
 * `setImmediate`), so a QoS 1 stream of thousands of messages a second would otherwise cost a write()
 * per packet here and a read per packet at the other end. Back-pressure is kept: a chunk the socket
 * cannot take completes only on its 'drain'.
 */
function coalescedWrites(raw: Duplex): Writable {
  let corked = false
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!corked) {
        corked = true
        raw.cork()
        setImmediate(() => {
          corked = false
          raw.uncork()
        })
      }
      if (raw.write(chunk)) done()
      else raw.once('drain', () => done())
    },
    final(done) {
      raw.end(done)
    },
    destroy(err, done) {
      // aedes destroys a connection right after writing its last words (a refusing CONNACK).
      if (corked) raw.uncork()
      raw.destroy(err ?? undefined)
      done(err)
    },
  })
}

/** Starts aedes with its TCP, WebSocket and (when configured) TLS listeners; `close()` stops them all. */
export async function start(config: BrokerConfig): Promise<BrokerHandle> {
  const limits = { ...defaultLimits, ...config.limits }
  const log = config.log ?? ((line: string) => console.log(line))
  const counters = newCounters()
  const credentials = config.credentialsFile ? Credentials.load(config.credentialsFile) : null
  const security = credentials ? securityHooks(credentials, limits, counters, log) : null
  const options: AedesOptions = { maxTopicLevels: limits.maxTopicLevels }
  const redis = config.redisUrl ? redisBackends(config.redisUrl) : null
  if (redis) {
    options.persistence = redis.persistence
    options.mq = redis.mq
  }
  if (security) {
    options.authenticate = security.authenticate
    options.authorizePublish = security.authorizePublish
    options.authorizeSubscribe = security.authorizeSubscribe
  }
  // Forwarding is the one per-delivery hook aedes has: count deliveries by QoS, forward unchanged.
  options.authorizeForward = (_client, packet) => {
    counters.messagesOut[packet.qos]++
    return packet
  }
  const aedes = await Aedes.createBroker(options)
  // The in-memory persistence scans a client's whole in-flight queue per message; ingest keeps
  // thousands in flight (it acknowledges after the write), so index it. Redis has its own.
  if (!redis) indexOutgoing((aedes as unknown as { persistence: OutgoingMethods }).persistence)
  aedes.on('client', (client) => {
    counters.connected++
    security?.onConnect(client)
  })
  aedes.on('clientDisconnect', (client) => {
    counters.connected--
    security?.onDisconnect(client)
  })
  aedes.on('publish', (packet, client) => {
    if (client) counters.messagesIn[packet.qos]++
  })
  // A misbehaving client must never take the broker down: aedes reports it here and carries on.
  aedes.on('clientError', () => counters.clientErrors++)
  aedes.on('connectionError', () => counters.clientErrors++)

  const sockets = new Set<{ bytesWritten: number }>()
  // Every connection passes the packet-size guard before aedes buffers anything.
  const accept = (raw: Duplex, address: string, counted: { bytesWritten: number }) => {
    sockets.add(counted)
    const guard = new PacketSizeGuard(limits.maxPayloadBytes + 1024, (declared) => {
      counters.oversize++
      log(`dropped: ${declared}-byte packet from ${address} exceeds the payload limit; connection closed`)
    })
    guard.on('data', (chunk: Buffer) => (counters.bytesIn += chunk.length))
    raw.pipe(guard)
    const conn = Duplex.from({ readable: guard, writable: coalescedWrites(raw) })
    guard.on('error', () => raw.destroy())
    raw.on('error', () => conn.destroy())
    raw.once('close', () => {
      counters.bytesOut += counted.bytesWritten
      sockets.delete(counted)
      conn.destroy()
    })
    remoteAddresses.set(conn, address)
    return conn
  }
  const onSocket = (socket: Socket) => {
    // The guard adds a hop between aedes and the socket; without this, Nagle holds small acks back.
    socket.setNoDelay(true)
    aedes.handle(accept(socket, socket.remoteAddress ?? 'unknown', socket))
  }

  const tcp = createNetServer(onSocket)
  const tls = config.tls
    ? createTlsServer(
        { cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
        onSocket,
      )
    : null
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket only\n')
  })
  const wss = new WebSocketServer({ server: http, path: config.wsPath })
  wss.on('connection', (socket, req) => {
    const stream = createWebSocketStream(socket)
    stream.on('error', () => socket.terminate())
    req.socket.setNoDelay(true)
    aedes.handle(accept(stream, req.socket.remoteAddress ?? 'unknown', req.socket), req)
  })
  const metrics = config.metricsPort == null ? null : createMetricsServer(() => counters)

  const mqttPort = await listen(tcp, config.mqttPort, config.host)
  const wsPort = await listen(http, config.wsPort, config.host)
  const tlsPort = tls && config.tls ? await listen(tls, config.tls.port, config.host) : null
  const metricsPort = metrics ? await listen(metrics, config.metricsPort ?? 0, config.host) : null

  return {
    mqttPort,
    wsPort,
    tlsPort,
    metricsPort,
    mqttUrl: `mqtt://${config.host}:${mqttPort}`,
    wsUrl: `ws://${config.host}:${wsPort}${config.wsPath}`,
    counters: () => structuredClone(counters),
    async close() {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await redis?.destroy()
      const servers = [tcp, http, ...(tls ? [tls] : []), ...(metrics ? [metrics] : [])]
      await Promise.all(servers.map(closeServer))
    },
  }
}
