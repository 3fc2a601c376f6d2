// The broker's persistent path, for `npm run bench -- broker`: QoS 1 to a subscriber with a persistent
// session that acknowledges late, as ingest does. The subscriber is ingest's own MQTT source
// (ingest/src/mqtt-source.ts: `clean: false`, a fixed client id, PUBACKs held until the message's
// ticket is acknowledged); the bench acknowledges tickets the way ingest's batches do, all of a batch at
// once when it is "written": every WRITE_MS, or as soon as BATCH_MESSAGES are waiting. Two phases:
// online (the subscriber connected throughout) and backlog (messages published while the subscriber is
// away, queued by the broker for its session — in Redis when the broker runs on Redis — then drained
// when it comes back). Every message carries a sequence number; each phase checks that every one
// arrived, so a figure is only reported when nothing was lost.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { Credentials, start } from '@evmon/broker'
import mqtt from 'mqtt'
import { startRedis } from '../test/support/redis.ts'
import { silentLogger } from '../ingest/src/log.ts'
import { connectMqttSource, type MqttSource } from '../ingest/src/mqtt-source.ts'
import type { AckTicket } from '../ingest/src/ack-queue.ts'

/** An ingest write round trip, roughly: tickets wait this long before their batch is acknowledged. */
const WRITE_MS = 50
/** Ingest's batch size, in messages (about 5,000 points at four connectors each, plus the station point). */
const BATCH_MESSAGES = 1_000

export interface PersistentSpec {
  mqttUrl: string
  /** The station's connection (client id, and its account when the broker authenticates). */
  publisher: { clientId: string; username?: string; password?: string }
  /** The ingest account, when the broker authenticates. */
  subscriber?: { username: string; password: string }
  topic: string
  /** Messages per phase. */
  messages: number
  /** The publisher's window of unacknowledged QoS 1 messages. */
  inflight: number
  /** A payload template; `"seq":0` in it is replaced by each message's sequence number. */
  payload: string
}

export interface PersistentResult {
  /** Messages/s from the first publish until the last one was received and acknowledged. */
  online: number
  /** Messages/s draining the backlog, from the subscriber's reconnect until the last was acknowledged. */
  backlog: number
  /** Messages delivered more than once (at least once allows it; counted, not an error). */
  duplicates: number
}

/** The late-acknowledging subscriber: counts distinct sequence numbers, acks in batches. */
async function subscribe(spec: PersistentSpec, clientId: string, seen: Set<number>, onProgress: () => void) {
  let pending: AckTicket[] = []
  let duplicates = 0
  const flush = () => {
    for (const ticket of pending) ticket.ack()
    pending = []
    onProgress()
  }
  const timer = setInterval(flush, WRITE_MS)
  const source: MqttSource = await connectMqttSource({
    url: spec.mqttUrl,
    ...(spec.subscriber ?? {}),
    clientId,
    connectTimeoutMs: 10_000,
    flow: { paused: () => false, progress: () => new Promise((resolve) => setTimeout(resolve, WRITE_MS)) },
    logger: silentLogger,
    onMessage(_topic, payload, ticket) {
      const seq = (JSON.parse(payload.toString('utf8')) as { seq: number }).seq
      if (seen.has(seq)) duplicates++
      else seen.add(seq)
      pending.push(ticket)
      if (pending.length >= BATCH_MESSAGES) setImmediate(flush)
    },
  })
  return {
    source,
    duplicates: () => duplicates,
    /** Acknowledges what is pending, then disconnects; the session stays on the broker. */
    async close() {
      clearInterval(timer)
      flush()
      // Let the last PUBACKs leave before the socket closes.
      await new Promise((resolve) => setTimeout(resolve, 200))
      await source.close()
    },
  }
}

async function publish(spec: PersistentSpec, from: number, count: number): Promise<void> {
  const [head, tail, ...more] = spec.payload.split('"seq":0')
  if (tail === undefined || more.length > 0 || head === undefined)
    throw new Error('the payload template needs exactly one "seq":0')
  const pub = await mqtt.connectAsync(spec.mqttUrl, spec.publisher)
  let next = from
  const end = from + count
  const worker = async () => {
    while (next < end) {
      const seq = next++
      await pub.publishAsync(spec.topic, `${head}"seq":${seq}${tail}`, { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: spec.inflight }, worker))
  await pub.endAsync()
}

/** Resolves when `seen` holds every number in [0, total), or rejects after `timeoutMs` without progress. */
function allSeen(seen: Set<number>, total: number, progress: { notify: () => void }, timeoutMs = 30_000) {
  return new Promise<void>((resolve, reject) => {
    let last = seen.size
    const stall = setInterval(() => {
      if (seen.size === last) {
        clearInterval(stall)
        reject(
          new Error(
            `persistent subscriber: ${seen.size} of ${total} messages after ${timeoutMs} ms without progress`,
          ),
        )
      }
      last = seen.size
    }, timeoutMs)
    progress.notify = () => {
      if (seen.size >= total) {
        clearInterval(stall)
        resolve()
      }
    }
  })
}

export async function persistentRun(spec: PersistentSpec): Promise<PersistentResult> {
  const seen = new Set<number>()
  const progress = { notify: () => {} }
  // A session of its own (a broker on Redis keeps sessions across runs): subscribed once, kept from here on.
  const clientId = `evmon-ingest-bench-${randomBytes(4).toString('hex')}`
  let sub = await subscribe(spec, clientId, seen, () => progress.notify())

  const online = allSeen(seen, spec.messages, progress)
  const t0 = performance.now()
  await publish(spec, 0, spec.messages)
  await online
  const onlineRate = spec.messages / ((performance.now() - t0) / 1000)
  let duplicates = sub.duplicates()
  await sub.close()

  // Away: the broker queues the session's messages; back: they are delivered and acknowledged late.
  await publish(spec, spec.messages, spec.messages)
  const backlog = allSeen(seen, 2 * spec.messages, progress)
  const t1 = performance.now()
  sub = await subscribe(spec, clientId, seen, () => progress.notify())
  await backlog
  const backlogRate = spec.messages / ((performance.now() - t1) / 1000)
  duplicates += sub.duplicates()
  await sub.close()
  // A clean connection ends the session, so that nothing is queued for it after the run.
  await (
    await mqtt.connectAsync(spec.mqttUrl, { clientId, clean: true, ...(spec.subscriber ?? {}) })
  ).endAsync()
  return { online: onlineRate, backlog: backlogRate, duplicates }
}

/**
 * One persistent-path run against a fresh broker with authentication, ACLs and limits on (station rate
 * limit raised out of the way), its sessions in a fresh redis-server (append-only file) or in memory.
 */
export async function lateAckRun(options: {
  redis: boolean
  dir: string
  messages: number
  inflight: number
  payload: string
}): Promise<PersistentResult> {
  const redis = options.redis ? await startRedis({ dir: mkdtempSync(join(options.dir, 'redis-')) }) : null
  const file = join(options.dir, 'credentials-persistent.json')
  const credentials = Credentials.empty()
  const station = await credentials.issue('beibei/zn-super')
  const ingest = await credentials.issue('ingest')
  credentials.save(file)
  const broker = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    credentialsFile: file,
    limits: { stationPublishRatePerS: 1e6, stationPublishBurst: 1e6 },
    ...(redis ? { redisUrl: redis.url } : {}),
    log: () => {},
  })
  try {
    return await persistentRun({
      mqttUrl: broker.mqttUrl,
      publisher: { clientId: 'beibei.zn-super', username: 'beibei/zn-super', password: station },
      subscriber: { username: 'ingest', password: ingest },
      topic: 'evmon/v1/beibei/zn-super/telemetry',
      messages: options.messages,
      inflight: options.inflight,
      payload: options.payload,
    })
  } finally {
    await broker.close()
    await redis?.stop()
  }
}
