import {
  DEFAULT_DECODE_LIMITS,
  decodeMessage,
  parseStationTopic,
  type DecodeLimits,
  type DecodedMessage,
} from '@evmon/contracts'
import type { FastifyInstance } from 'fastify'
import { LiveState } from '../live/live-state.ts'
import type { MessageFeed } from '../live/mqtt-feed.ts'
import type { ApiMetrics } from '../metrics.ts'

/** Telemetry older than this many sample periods marks a station stale (docs/design.md, live view). */
const STALE_AFTER_PERIODS = 3

// Retained state (online, status) is as old as its last change: a station online for 40 days must
// not be rejected as "too old". The past limit guards raw retention in ingest, not the live view.
const LIVE_DECODE_LIMITS: DecodeLimits = { ...DEFAULT_DECODE_LIMITS, maxPastMs: Number.POSITIVE_INFINITY }

/** The feed to read, the period that defines staleness, where to count, and the clock to stamp with. */
export interface LiveStateOptions {
  feed: MessageFeed
  sampleIntervalMs: number
  metrics: ApiMetrics
  clock: () => number
  /** Also told every accepted message (the alert rules). */
  onDecoded?: (message: DecodedMessage, receivedAt: number) => void
}

/**
 * Keeps the live view of every station from the message feed: each message is validated against the
 * contract, invalid ones are counted by reason and dropped, never a crash. The feed starts when the
 * app is ready and is closed with it.
 */
export function setupLiveState(app: FastifyInstance, options: LiveStateOptions): LiveState {
  const { feed, metrics, clock } = options
  const state = new LiveState(STALE_AFTER_PERIODS * options.sampleIntervalMs)

  const onMessage = (topic: string, payload: Buffer): void => {
    const receivedAt = clock()
    if (payload.byteLength === 0) {
      // An empty retained payload clears the retained message: for `meta` that decommissions the station.
      const parsed = parseStationTopic(topic)
      if (parsed.ok && parsed.topic.kind === 'meta') state.forget(parsed.topic.site, parsed.topic.station)
      if (parsed.ok) return
    }
    const result = decodeMessage(topic, payload, receivedAt, LIVE_DECODE_LIMITS)
    if (!result.ok) {
      metrics.mqttRejected(result.reason).inc()
      app.log.debug({ topic, reason: result.reason, detail: result.detail }, 'mqtt message rejected')
      return
    }
    metrics.mqttMessages(result.message.kind).inc()
    state.apply(result.message, receivedAt)
    options.onDecoded?.(result.message, receivedAt)
  }

  metrics.gauge('evmon_api_mqtt_connected', '1 while the live-view MQTT client is connected.', () =>
    feed.connected() ? 1 : 0,
  )
  metrics.gauge('evmon_api_live_stations', 'Stations in the live view.', () => state.size)
  app.addHook('onReady', async () => feed.start(onMessage))
  app.addHook('onClose', async () => feed.close())
  return state
}
