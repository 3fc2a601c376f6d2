import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { Duplex, Writable } from 'node:stream'
import { createServer as createTlsServer } from 'node:tls'
import { Aedes, type AedesOptions } from 'aedes'
import { ACCEPT_BACKLOG, listen } from '@evmon/runtime'
import { basename, dirname } from 'node:path'
import { createWebSocketStream, WebSocketServer } from 'ws'
import { brokerEnv, type BrokerConfig } from './config.ts'
import { Credentials } from './credentials.ts'
import { PacketSizeGuard } from './limits.ts'
import { PubackGate } from './puback-gate.ts'
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
  /**
   * Reads the credentials file again (the broker also does so by itself when the file changes):
   * new accounts can log in at once, sessions of removed or rotated accounts are closed. A file that
   * does not load is refused with the error and the accounts in force stay.
   */
  reloadCredentials(): void
  /**
   * Graceful stop: listeners closed, new publishes refused, then waits (at most `drainMs`) until every
   * accepted message is with its subscribers or in Redis, and closes every connection.
   */
  close(): Promise<void>
}

/**
 * Persistence writes aedes makes before it acknowledges something to a client (a publish, a
 * subscription, a will). Writes that follow a delivery or an acknowledgement from a subscriber are
 * not among them: one lost on the way out only means the message is delivered again.
 */
const ACKNOWLEDGED_WRITES = [
  'storeRetained',
  'addSubscriptions',
  'removeSubscriptions',
  'outgoingEnqueue',
  'outgoingEnqueueCombi',
  'incomingStorePacket',
  'putWill',
] as const

/** A `duplicates` table that never remembers: see the 'client' handler in start(). */
const ignoreWrites = new Proxy({}, { set: () => true })

/**
 * Tracks those writes in progress, so a closing broker can wait for them: the Redis persistence drops
 * its connection on destroy, and a write still on the wire would be lost with it.
 */
function trackWrites(persistence: object): Set<Promise<unknown>> {
  const pending = new Set<Promise<unknown>>()
  const methods = persistence as Record<string, (...args: unknown[]) => unknown>
  for (const name of ACKNOWLEDGED_WRITES) {
    const original = methods[name]
    if (typeof original !== 'function') continue
    methods[name] = (...args) => {
      const result = original.apply(persistence, args)
      if (!(result instanceof Promise)) return result
      pending.add(result)
      const settle = () => pending.delete(result)
      result.then(settle, settle)
      return result
    }
  }
  return pending
}

/** Calls `reload` when `file` is replaced or rewritten (editors and `save` rename over it). */
function watchFile(file: string, reload: () => void): FSWatcher {
  let timer: NodeJS.Timeout | undefined
  let more = false
  // The directory, not the file: a rename over the file replaces the inode a file watch would hold.
  const watcher = watch(dirname(file), (_event, name) => {
    if (name !== null && name !== basename(file)) return
    // At once, so a station added a moment ago can connect; one change can arrive as several events
    // (an editor writing in place), so once more when they have stopped.
    if (timer) {
      more = true
      return
    }
    reload()
    const settle = () => {
      timer = undefined
      if (more) {
        more = false
        reload()
        timer = setTimeout(settle, 50)
      }
    }
    timer = setTimeout(settle, 50)
  })
  watcher.on('close', () => clearTimeout(timer))
  return watcher
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
function coalescedWrites(raw: Duplex, gate: PubackGate): Writable {
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
      const now = gate.filter(chunk)
      if (now.length === 0 || raw.write(now)) done()
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
  const credentialsFile = config.credentialsFile
  const security = credentialsFile
    ? securityHooks(Credentials.load(credentialsFile), limits, counters, log)
    : null
  const options: AedesOptions = { maxTopicLevels: limits.maxTopicLevels }
  const redis = config.redisUrl ? redisBackends(config.redisUrl, config.cluster ?? false, log) : null
  const pendingWrites = redis ? trackWrites(redis.persistence) : new Set<Promise<unknown>>()
  if (redis) {
    options.persistence = redis.persistence
    if (redis.mq) options.mq = redis.mq
  }
  let draining = false
  if (security) {
    options.authenticate = security.authenticate
    options.authorizeSubscribe = security.authorizeSubscribe
  }
  // A closing broker takes no more messages: the publisher keeps them unacknowledged and sends them
  // again to the broker it reconnects to.
  options.authorizePublish = (client, packet, done) => {
    if (draining && client) return done(new Error('broker is shutting down'))
    if (security?.authorizePublish) return security.authorizePublish(client, packet, done)
    done(null)
  }
  // Forwarding is the one per-delivery hook aedes has: count deliveries by QoS, forward unchanged.
  options.authorizeForward = (_client, packet) => {
    counters.messagesOut[packet.qos]++
    return packet
  }
  const aedes = await Aedes.createBroker(options)
  // The in-memory persistence scans a client's whole in-flight queue per message; ingest keeps
  // thousands in flight (it acknowledges after the write), so index it. Redis has its own.
  const memoryQueue = redis
    ? null
    : indexOutgoing((aedes as unknown as { persistence: OutgoingMethods }).persistence)
  aedes.on('client', (client) => {
    // aedes drops a message for a client when its brokerCounter is not above the last one delivered
    // to it (lib/client.js dedupe), which assumes messages reach subscribers in the order they were
    // numbered. With Redis they do not: a retained publish waits for its HSET (and queue writes)
    // while later messages overtake it, so it was never delivered. Overlapping subscriptions may
    // therefore deliver a message twice, which MQTT allows.
    if (redis) (client as unknown as { duplicates: object }).duplicates = ignoreWrites
    counters.connected++
    security?.onConnect(client)
  })
  aedes.on('clientDisconnect', (client) => {
    counters.connected--
    security?.onDisconnect(client)
  })
  // Connections by the stream aedes was handed, to release their PUBACKs.
  const gates = new Map<object, PubackGate>()
  aedes.on('publish', (packet, client) => {
    if (!client) return
    counters.messagesIn[packet.qos]++
    if (packet.qos === 1 && packet.messageId !== undefined)
      gates.get(client.conn)?.published(packet.messageId)
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
    // PUBACKs wait until the publish is in the subscribers' queues (see PubackGate).
    const gate = new PubackGate((bytes) => {
      if (!raw.destroyed) raw.write(bytes)
    })
    const conn = Duplex.from({ readable: guard, writable: coalescedWrites(raw, gate) })
    gates.set(conn, gate)
    guard.on('error', () => raw.destroy())
    raw.on('error', () => conn.destroy())
    raw.once('close', () => {
      counters.bytesOut += counted.bytesWritten
      sockets.delete(counted)
      gates.delete(conn)
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
  const metrics =
    config.metricsPort == null
      ? null
      : createMetricsServer(() => ({
          ...counters,
          persistenceWritesPending: pendingWrites.size,
          pubacksHeld: [...gates.values()].reduce((n, g) => n + g.holding, 0),
        }))

  const reloadCredentials = () => {
    if (!security || !credentialsFile) return
    try {
      security.reload(Credentials.load(credentialsFile))
      counters.credentialReloads++
    } catch (err) {
      counters.credentialReloadErrors++
      log(`credentials not reloaded, the accounts in force stay: ${(err as Error).message}`)
    }
  }
  const watcher = credentialsFile ? watchFile(credentialsFile, reloadCredentials) : null

  // Every station reconnects within seconds of a broker restart: the accept queue holds them all.
  const mqttPort = await listen(tcp, config.mqttPort, config.host, ACCEPT_BACKLOG)
  const wsPort = await listen(http, config.wsPort, config.host, ACCEPT_BACKLOG)
  const tlsPort = tls && config.tls ? await listen(tls, config.tls.port, config.host, ACCEPT_BACKLOG) : null
  const metricsPort = metrics ? await listen(metrics, config.metricsPort ?? 0, config.host) : null

  return {
    mqttPort,
    wsPort,
    tlsPort,
    metricsPort,
    mqttUrl: `mqtt://${config.host}:${mqttPort}`,
    wsUrl: `ws://${config.host}:${wsPort}${config.wsPath}`,
    counters: () => structuredClone(counters),
    reloadCredentials,
    async close() {
      watcher?.close()
      draining = true
      // No new connections; the open ones stay until their messages are handed over.
      const listeners = [tcp, http, ...(tls ? [tls] : [])].map(closeServer)
      // What was accepted is written into each persistent subscriber's queue before it is
      // acknowledged: with Redis, waiting for the writes in progress hands every message over. In
      // memory, the queues themselves must empty into connected subscribers.
      // (An offline subscriber's memory queue cannot empty: waiting for it would only delay the loss.)
      const drainMs = config.drainMs ?? brokerEnv.drainMs.default
      const deadline = Date.now() + drainMs
      const undelivered = () =>
        pendingWrites.size +
        (memoryQueue
          ? Object.keys((aedes as unknown as { clients: Record<string, unknown> }).clients).reduce(
              (n, id) => n + memoryQueue.queued(id),
              0,
            )
          : 0)
      while (Date.now() < deadline && undelivered() > 0) {
        // A timer every time: a loop on settled promises alone would starve the sockets it waits on.
        const pause = new Promise((r) => setTimeout(r, Math.min(20, Math.max(0, deadline - Date.now()))))
        await (pendingWrites.size > 0 ? Promise.race([Promise.allSettled(pendingWrites), pause]) : pause)
      }
      const left = undelivered()
      if (left > 0) log(`closing with ${left} messages not handed over after ${drainMs} ms`)
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => aedes.close(() => resolve()))
      await Promise.allSettled(pendingWrites)
      await redis?.destroy()
      await Promise.all([...listeners, ...(metrics ? [closeServer(metrics)] : [])])
    },
  }
}
