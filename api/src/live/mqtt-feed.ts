import { randomBytes } from 'node:crypto'
import { ALL_STATIONS_FILTER } from '@evmon/contracts'
import type { FastifyBaseLogger } from 'fastify'
import mqtt from 'mqtt'

/** Where station messages come from: MQTT in service, an in-memory source in unit tests. */
export interface MessageFeed {
  /** Starts delivering raw messages; never throws on a broker that is down, it keeps retrying. */
  start(onMessage: (topic: string, payload: Buffer) => void): void
  connected(): boolean
  close(): Promise<void>
}

/** Broker address and the API's own credentials, if the broker requires them. */
export interface MqttFeedOptions {
  url: string
  username?: string
  password?: string
  log: FastifyBaseLogger
}

/** The live view should come back within a second of the broker. */
const RECONNECT_PERIOD_MS = 1_000

/**
 * Subscribes to every station message with a clean session: the live view needs the retained state
 * and what comes next, not what was published while the API was away (that is ingest's job).
 */
export function createMqttFeed(options: MqttFeedOptions): MessageFeed {
  let client: mqtt.MqttClient | null = null
  // The same error repeats on every retry while the broker is down: log each distinct one once per outage.
  let lastError: string | null = null
  return {
    start(onMessage) {
      const c = mqtt.connect(options.url, {
        clientId: `evmon-api-${randomBytes(6).toString('hex')}`,
        clean: true,
        reconnectPeriod: RECONNECT_PERIOD_MS,
        // Subscribing on every connect is explicit; mqtt.js' own resubscription would double it.
        resubscribe: false,
        ...(options.username !== undefined && { username: options.username }),
        ...(options.password !== undefined && { password: options.password }),
      })
      c.on('connect', () => {
        lastError = null
        options.log.info({ url: options.url }, 'mqtt connected')
        // QoS 0: a live view wants the latest state fast, not every message acknowledged.
        c.subscribe(ALL_STATIONS_FILTER, { qos: 0 }, (err) => {
          if (err) options.log.error({ err }, 'mqtt subscribe failed')
        })
      })
      c.on('message', onMessage)
      c.on('error', (err) => {
        if (err.message === lastError) return
        lastError = err.message
        options.log.warn({ err, url: options.url }, 'mqtt error')
      })
      c.on('offline', () => options.log.warn({ url: options.url }, 'mqtt offline, retrying'))
      client = c
    },
    connected: () => client?.connected ?? false,
    async close() {
      // Forced: this client only subscribes, it has nothing in flight worth waiting for.
      await client?.endAsync(true)
    },
  }
}
