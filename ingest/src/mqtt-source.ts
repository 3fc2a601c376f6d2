import { ALL_STATIONS_FILTER } from '@evmon/contracts'
import mqtt, { type IClientOptions, type Packet } from 'mqtt'
import { AckQueue, type AckTicket } from './ack-queue.ts'
import { rateLimited, type Logger } from './log.ts'

// MQTT packet ids are 16 bits: a broker cannot have more than 65,535 messages in flight to us, and
// some reuse ids earlier. Pause reading well before that.
const MAX_UNACKED_MESSAGES = 20_000

// A held message keeps its packet id; a broker numbering packets with a 16-bit counter could hand the
// same id to a new message after 65,535 deliveries. Reading stops well before that.
const MAX_HELD_SPAN = 50_000

// MQTT 5 ends a session at disconnect unless told otherwise; keep ours (and its queue) for a week away.
const SESSION_EXPIRY_S = 7 * 86_400

// While the broker is down, mqtt.js reports every reconnect attempt (once a second).
const CONNECTION_LOG_INTERVAL_MS = 30_000

/** Lets the pipeline slow the broker down: reading stops while `paused` holds. */
export interface FlowControl {
  paused(): boolean
  /** Resolves when the pipeline made progress (a batch was written), so `paused` is worth asking again. */
  progress(): Promise<void>
}

export interface MqttSourceOptions {
  url: string
  username?: string
  password?: string
  clientId: string
  /** Subscribe as a member of this MQTT 5 shared subscription group instead of alone. */
  shareGroup?: string
  connectTimeoutMs: number
  /** Each received message, with the ticket that acknowledges it once it is handled. */
  onMessage(topic: string, payload: Buffer, ticket: AckTicket): void
  flow: FlowControl
  logger: Logger
}

export interface MqttSource {
  readonly connected: boolean
  /** Messages received and not yet acknowledged to the broker (held ones included). */
  readonly unacked: number
  /** Ignores everything that arrives from now on; it stays unacknowledged for the next run. */
  stopReceiving(): void
  close(): Promise<void>
}

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, ...rest: unknown[]) => void

/**
 * Holds back every PUBACK mqtt.js would send and returns the function that really sends one.
 *
 * mqtt.js acknowledges a QoS 1 message as soon as `handleMessage` calls back, and does not parse the
 * next packet before that. Its public hooks (`handleMessage`, and `customHandleAcks`, which moreover
 * needs MQTT 5 and aedes speaks 3.1.1) can therefore delay an acknowledgement only by stalling the
 * whole connection: one message per InfluxDB round trip. Intercepting the PUBACK packet itself lets
 * messages flow into batches while their acknowledgements wait for the write. This touches the
 * private `_sendPacket`, so its absence fails the start loudly instead of silently acking early.
 */
function deferPubacks(client: mqtt.MqttClient): SendPacket {
  const internals = client as unknown as { _sendPacket?: SendPacket }
  const original = internals._sendPacket
  if (typeof original !== 'function') {
    throw new Error(
      'mqtt.js has no _sendPacket: acknowledging after the write is not possible with this version',
    )
  }
  const send = original.bind(client)
  internals._sendPacket = (packet, cb, ...rest) => {
    if (packet.cmd === 'puback') {
      cb?.()
      return
    }
    send(packet, cb, ...rest)
  }
  return send
}

/**
 * Connects with a persistent session (`clean: false`, fixed client id) so the broker queues QoS 1
 * messages while ingest is away, subscribes to every station topic at QoS 1 when the broker has no
 * session for us, and acknowledges each message only when its ticket is acked. Resolves once the
 * subscription is in place; rejects when the broker refuses us or is unreachable for
 * `connectTimeoutMs`.
 *
 * With a share group it speaks MQTT 5 and subscribes to `$share/<group>/evmon/v1/#`: the broker hands
 * each message to one member of the group. Otherwise MQTT 3.1.1, which aedes (the evmon broker) speaks.
 */
export async function connectMqttSource(options: MqttSourceOptions): Promise<MqttSource> {
  const { logger } = options
  const warn = rateLimited(logger, CONNECTION_LOG_INTERVAL_MS)
  const filter =
    options.shareGroup === undefined
      ? ALL_STATIONS_FILTER
      : `$share/${options.shareGroup}/${ALL_STATIONS_FILTER}`
  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: false,
    ...(options.shareGroup === undefined
      ? { protocolVersion: 4 }
      : {
          protocolVersion: 5,
          // receiveMaximum lets the broker keep as many unacknowledged messages in flight as our
          // deferred PUBACKs need; it defaults to 65,535 in the protocol but brokers cap it lower.
          properties: { sessionExpiryInterval: SESSION_EXPIRY_S, receiveMaximum: MAX_UNACKED_MESSAGES },
        }),
    // Subscriptions are part of the broker's session; we subscribe ourselves when it has none.
    resubscribe: false,
    reconnectPeriod: 1_000,
    connectTimeout: options.connectTimeoutMs,
    manualConnect: true,
  }
  if (options.username !== undefined) {
    clientOptions.username = options.username
    clientOptions.password = options.password
  }
  const client = mqtt.connect(options.url, clientOptions)
  const sendPacket = deferPubacks(client)
  const acks = new AckQueue((messageId) => {
    if (client.connected) sendPacket({ cmd: 'puback', messageId })
  })
  let receiving = true

  client.on('message', (topic, payload, packet) => {
    if (!receiving) return
    options.onMessage(topic, payload, acks.enqueue(packet.qos > 0 ? packet.messageId : undefined))
  })
  const mustWait = () =>
    receiving &&
    (acks.size >= MAX_UNACKED_MESSAGES || acks.heldSpan >= MAX_HELD_SPAN || options.flow.paused())
  client.handleMessage = (_packet, callback) => {
    // The usual case answers at once; waiting costs a promise per message, so only when needed.
    if (!mustWait()) return callback()
    void (async () => {
      while (mustWait()) await options.flow.progress()
      callback()
    })()
  }
  // Acknowledgements pending on a lost connection can never be sent: the broker resends those messages.
  client.on('close', () => acks.reset())
  client.on('offline', () => warn('offline', 'mqtt offline, reconnecting', { url: options.url }))

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no MQTT connection to ${options.url} within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    )
    const done = (err?: Error) => {
      clearTimeout(timer)
      if (err) reject(err)
      else resolve()
    }
    client.on('connect', (connack) => {
      logger.info('mqtt connected', { url: options.url, sessionPresent: connack.sessionPresent })
      if (connack.sessionPresent) return done()
      client.subscribe(filter, { qos: 1 }, (err, granted) => {
        // 0x80 and above are failure codes (3.1.1 has only 0x80).
        const refused = granted?.some((g) => g.qos >= 128)
        if (err || refused) {
          const error = err ?? new Error(`broker refused the subscription to ${filter}`)
          logger.error('mqtt subscribe failed', { error: error.message })
          return done(error)
        }
        done()
      })
    })
    client.on('error', (err: Error & { code?: unknown }) => {
      warn('error', 'mqtt error', { url: options.url, error: err.message })
      // A numeric code is the broker's CONNACK refusal (bad credentials, not authorised): retrying
      // will not help. Network errors carry string codes and are retried until the timeout.
      if (typeof err.code === 'number') done(err)
    })
  })
  client.connect()
  try {
    await ready
  } catch (err) {
    await client.endAsync(true)
    throw err
  }

  return {
    get connected() {
      return client.connected
    },
    get unacked() {
      return acks.size + acks.held
    },
    stopReceiving() {
      receiving = false
    },
    async close() {
      receiving = false
      await client.endAsync(false)
    },
  }
}
