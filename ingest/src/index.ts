import { openDeadLetter } from './dead-letter.ts'
import { startStatusServer } from './http-server.ts'
import { createInfluxV1Writer } from './influx-v1-writer.ts'
import { createInfluxV2Writer } from './influx-v2-writer.ts'
import type { LineWriter } from './line-writer.ts'
import { jsonLogger, type Logger } from './log.ts'
import type { IngestStats } from './metrics.ts'
import { connectMqttSource } from './mqtt-source.ts'
import { Pipeline } from './pipeline.ts'
import { openSpool } from './spool.ts'
import type { IngestConfig } from './config.ts'

export { ConfigError, ingestEnv, loadConfig, type IngestConfig } from './config.ts'
export { jsonLogger, silentLogger, type Logger } from './log.ts'
export { REJECT_REASONS, type IngestRejectReason, type IngestStats } from './metrics.ts'

/** A running ingest. */
export interface IngestHandle {
  /** `http://host:port` serving `/healthz` and `/metrics`. */
  readonly statusUrl: string
  /** Counters since start and the pipeline's current state. */
  stats(): IngestStats
  /**
   * Stops taking messages, writes what was accepted (waiting at most `closeTimeoutMs`), sends the
   * acknowledgements, then disconnects. Whatever could not be written stays unacknowledged, so the
   * broker delivers it again on the next start. Calling it again returns the same promise.
   */
  close(): Promise<void>
}

export interface StartOptions {
  /** Defaults to JSON lines on stdout. */
  logger?: Logger
}

/** The InfluxDB writer the configuration names (1.x or 2.x API). */
export function createWriter(config: IngestConfig): LineWriter {
  if (config.influxApi === 'v2') {
    return createInfluxV2Writer({
      url: config.influxUrl,
      token: config.influxToken ?? '',
      org: config.influxOrg ?? '',
      bucket: config.influxBucket,
      timeoutMs: config.writeTimeoutMs,
    })
  }
  return createInfluxV1Writer({
    url: config.influxUrl,
    database: config.influxDb,
    username: config.influxUsername,
    password: config.influxPassword,
    timeoutMs: config.writeTimeoutMs,
    maxSockets: config.maxConcurrentWrites,
  })
}

/**
 * Starts the MQTT → InfluxDB pipeline: opens the dead-letter file and the spool (whose leftover
 * batches start draining), creates or updates the schema, serves health and metrics, connects to the
 * broker and subscribes. Resolves once messages flow.
 */
export async function start(config: IngestConfig, options: StartOptions = {}): Promise<IngestHandle> {
  const logger = options.logger ?? jsonLogger('ingest')
  const deadLetter = await openDeadLetter({
    path: config.deadLetterPath,
    maxBytes: config.deadLetterMaxBytes,
    logger,
  })
  const failEarly = async (err: unknown): Promise<never> => {
    await deadLetter.close()
    throw err
  }
  const spool = await openSpool({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes, logger }).catch(
    failEarly,
  )
  const writer = createWriter(config)
  // InfluxDB may come up after us; a write to a missing database recreates the schema, so this is not fatal.
  await writer
    .prepare()
    .catch((err: Error) =>
      logger.warn('could not create the schema yet', { target: writer.target, error: err.message }),
    )
  const pipeline = new Pipeline({
    writer,
    spool,
    deadLetter,
    logger,
    registerResetGapMs: config.registerResetGapMs,
    batchSizePoints: config.batchSizePoints,
    flushIntervalMs: config.flushIntervalMs,
    maxConcurrentWrites: config.maxConcurrentWrites,
    maxPendingPoints: config.maxPendingPoints,
    maxHeldMessages: config.maxHeldMessages,
    backoff: { initialMs: config.retryInitialMs, maxMs: config.retryMaxMs },
  })

  let source: Awaited<ReturnType<typeof connectMqttSource>> | undefined
  const stats = (): IngestStats => {
    const dl = deadLetter.stats()
    const sp = spool.stats()
    return {
      ...pipeline.counters,
      messagesRejected: { ...pipeline.counters.messagesRejected },
      pointsDeadLettered: { ...pipeline.counters.pointsDeadLettered },
      pendingPoints: pipeline.pendingPoints,
      unackedMessages: source?.unacked ?? 0,
      mqttConnected: source?.connected ?? false,
      deadLetterEntries: dl.written,
      deadLetterBytes: dl.bytes,
      deadLetterMaxBytes: dl.maxBytes,
      deadLetterWarning: dl.warning,
      deadLetterFull: dl.full,
      deadLetterWriteErrors: dl.writeErrors,
      heldMessages: new Map(pipeline.heldMessages),
      spoolRecords: sp.records,
      spoolBytes: sp.bytes,
      spoolMaxBytes: config.spoolMaxBytes,
      spoolFull: sp.full,
      batchLatency: pipeline.batchLatency,
      writeLag: pipeline.writeLag,
    }
  }

  const releaseEarly = async () => {
    await pipeline.sink.close()
    await Promise.all([writer.close(), deadLetter.close(), spool.close()])
  }
  const status = await startStatusServer(config.metricsHost, config.metricsPort, stats).catch(async (err) => {
    await releaseEarly()
    throw err
  })
  try {
    source = await connectMqttSource({
      url: config.mqttUrl,
      username: config.mqttUsername,
      password: config.mqttPassword,
      clientId: config.clientId,
      shareGroup: config.shareGroup,
      connectTimeoutMs: config.connectTimeoutMs,
      onMessage: (topic, payload, ticket) => pipeline.handle(topic, payload, ticket),
      flow: { paused: () => pipeline.paused(), progress: () => pipeline.progress() },
      logger,
    })
  } catch (err) {
    await Promise.all([status.close(), releaseEarly()])
    throw err
  }
  logger.info('ingest started', {
    mqtt: config.mqttUrl,
    shareGroup: config.shareGroup,
    influx: writer.target,
    status: status.url,
    spool: config.spoolDir,
    spooledRecords: spool.stats().records,
  })

  const connected = source
  let closing: Promise<void> | undefined
  async function close(): Promise<void> {
    connected.stopReceiving()
    const timer = setTimeout(() => pipeline.abort(), config.closeTimeoutMs)
    await pipeline.flush()
    clearTimeout(timer)
    // Nothing is in flight any more; this ends the wait of messages held for dead-letter room (they
    // stay unacknowledged, and the broker delivers them again on the next start).
    pipeline.abort()
    await connected.close()
    // Whatever is still spooled stays on disk and drains on the next start.
    await pipeline.sink.close()
    await Promise.all([status.close(), writer.close(), deadLetter.close(), spool.close()])
    logger.info('ingest closed', { pendingPoints: pipeline.pendingPoints })
  }

  return {
    statusUrl: status.url,
    stats,
    close: () => (closing ??= close()),
  }
}
