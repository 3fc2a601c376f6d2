import { Redis } from 'ioredis'
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startRedis, type RedisHandle } from '../../test/support/redis.ts'
import { start, type BrokerHandle } from '../src/index.ts'

let redis: RedisHandle
const brokers: BrokerHandle[] = []

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  for (const broker of brokers) await broker.close()
  await redis?.stop()
})

async function broker(cluster = false): Promise<BrokerHandle> {
  const handle = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    redisUrl: redis.url,
    cluster,
  })
  brokers.push(handle)
  return handle
}

test('10,000 QoS 1 messages queued for an offline subscriber survive a broker restart', async () => {
  const first = await broker()
  // Ingest's persistent session: fixed client id, clean session off, QoS 1.
  const ingest = await mqtt.connectAsync(first.mqttUrl, { clientId: 'evmon-ingest-redis', clean: false })
  await ingest.subscribeAsync('evmon/v1/#', { qos: 1 })
  await ingest.endAsync()

  const station = await mqtt.connectAsync(first.mqttUrl, { clientId: 'beibei.zn-super' })
  const sent = 10_000
  const batch: Promise<unknown>[] = []
  for (let seq = 0; seq < sent; seq++) {
    batch.push(
      station.publishAsync('evmon/v1/beibei/zn-super/telemetry', JSON.stringify({ seq }), { qos: 1 }),
    )
  }
  await Promise.all(batch)
  await station.endAsync()
  await first.close()
  brokers.splice(brokers.indexOf(first), 1)

  const second = await broker()
  const received = new Set<number>()
  const back = await mqtt.connectAsync(second.mqttUrl, { clientId: 'evmon-ingest-redis', clean: false })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.size} of ${sent} arrived`)), 50_000)
    back.on('message', (_topic, payload) => {
      received.add((JSON.parse(payload.toString()) as { seq: number }).seq)
      if (received.size === sent) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  expect(received.size).toBe(sent)
  // Every acknowledgement took its message out of the queue in Redis: nothing is left to redeliver.
  const db = new Redis(redis.url)
  const deadline = Date.now() + 20_000
  while ((await db.llen('outgoing:evmon-ingest-redis')) > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100))
  expect(await db.llen('outgoing:evmon-ingest-redis')).toBe(0)
  db.disconnect()
  await back.endAsync()
}, 90_000)

test('two brokers sharing Redis as a cluster act as one broker', async () => {
  const [a, b] = [await broker(true), await broker(true)]
  const sub = await mqtt.connectAsync(a.mqttUrl, { clientId: 'api-on-a' })
  await sub.subscribeAsync('evmon/v1/+/+/online', { qos: 1 })
  const got = new Promise<string>((resolve) =>
    sub.on('message', (topic, p) => resolve(`${topic} ${p.toString()}`)),
  )
  const pub = await mqtt.connectAsync(b.mqttUrl, { clientId: 'beibei.kc-ac' })
  await pub.publishAsync('evmon/v1/beibei/kc-ac/online', '{"online":true}', { qos: 1, retain: true })
  expect(await got).toBe('evmon/v1/beibei/kc-ac/online {"online":true}')
  // A retained message stored through one broker is served by the other.
  const late = await mqtt.connectAsync(a.mqttUrl, { clientId: 'late-on-a' })
  const retained = new Promise<string>((resolve) => late.on('message', (_t, p) => resolve(p.toString())))
  await late.subscribeAsync('evmon/v1/beibei/kc-ac/online', { qos: 1 })
  expect(await retained).toBe('{"online":true}')
  await Promise.all([sub.endAsync(), pub.endAsync(), late.endAsync()])
})

test('a retained update overtaken by later publishes on its way through Redis still reaches every subscriber', async () => {
  // On Redis a retained publish waits for its HSET before delivery, so messages published after it
  // are delivered first; aedes' per-client dedupe would then drop it as already seen.
  const handle = await broker()
  const live = await mqtt.connectAsync(handle.mqttUrl, { clientId: 'evmon-api-dedupe', clean: true })
  const persistent = await mqtt.connectAsync(handle.mqttUrl, {
    clientId: 'evmon-ingest-dedupe',
    clean: false,
  })
  await live.subscribeAsync('evmon/v1/#', { qos: 0 })
  await persistent.subscribeAsync('evmon/v1/#', { qos: 1 })
  const statuses = { live: [] as string[], persistent: [] as string[] }
  live.on('message', (topic, p) => topic.endsWith('/status') && statuses.live.push(p.toString()))
  persistent.on('message', (topic, p) => topic.endsWith('/status') && statuses.persistent.push(p.toString()))

  const faulted = await mqtt.connectAsync(handle.mqttUrl, { clientId: 'beibei.zn-super' })
  const busy = await mqtt.connectAsync(handle.mqttUrl, { clientId: 'beibei.kc-ac' })
  const rounds = 5
  for (let i = 0; i < rounds; i++) {
    const burst = [
      faulted.publishAsync('evmon/v1/beibei/zn-super/status', `fault-${i}`, { qos: 1, retain: true }),
      ...Array.from({ length: 20 }, (_, n) =>
        busy.publishAsync('evmon/v1/beibei/kc-ac/telemetry', `t-${i}-${n}`, { qos: 1 }),
      ),
    ]
    await Promise.all(burst)
  }
  const expected = Array.from({ length: rounds }, (_, i) => `fault-${i}`)
  await expect.poll(() => statuses.live, { timeout: 10_000 }).toEqual(expected)
  await expect.poll(() => statuses.persistent, { timeout: 10_000 }).toEqual(expected)
  await Promise.all([live, persistent, faulted, busy].map((c) => c.endAsync()))
})
