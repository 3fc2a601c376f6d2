// Broker QoS 1 pass-through with authentication + ACL + limits on, against the same broker with them
// off. One publisher (a station account) → broker → one subscriber (the ingest account), loopback only.
// With Redis (the default, as `npm start` and compose deploy the broker) or in memory, or both to
// measure what Redis costs; the subscriber is persistent (clean session off) as ingest is, so every
// message goes through its queue — in Redis, a private redis-server with an append-only file.
// Each round also runs the path ingest really takes (bench/lib-broker-persistent.ts): ingest's own MQTT
// source acknowledging each message only after a simulated write, auth+ACL on, online and draining a
// backlog queued while it was away; every message is checked to arrive.
// Usage: npm run bench -- broker [--persistence redis|memory|both] [--messages 50000]
//        (default: both, 50,000 messages per run)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { Credentials, start } from '@evmon/broker'
import { startRedis } from '../test/support/redis.ts'
import { lateAckRun } from './lib-broker-persistent.ts'

const INFLIGHT = 200 // publisher window of unacknowledged QoS 1 messages
const ROUNDS = 3 // alternating runs per mode; the best of each is reported

const payload = JSON.stringify({
  v: 1,
  ts: Date.now(),
  seq: 1,
  meter: { grid_power_w: 471200, grid_energy_wh: 123456789, aux_power_w: 2100, cabinet_temp_c: 41.2 },
  connectors: [1, 2, 3, 4].map((id) => ({
    id,
    status: 'Charging',
    power_w: 452300,
    offered_w: 480000,
    voltage_v: 768.2,
    current_a: 588.8,
    energy_wh: 1234567,
    soc_pct: 43.1,
  })),
})

type Persistence = 'redis' | 'memory'

async function run(
  secure: boolean,
  persistence: Persistence,
  dir: string,
  messages: number,
): Promise<number> {
  // A fresh Redis per run: no session or queue left over from the run before.
  const redis = persistence === 'redis' ? await startRedis({ dir: mkdtempSync(join(dir, 'redis-')) }) : null
  const file = join(dir, 'credentials.json')
  const credentials = Credentials.empty()
  const stationSecret = await credentials.issue('beibei/zn-super')
  const ingestSecret = await credentials.issue('ingest')
  credentials.save(file)
  const broker = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    ...(secure
      ? { credentialsFile: file, limits: { stationPublishRatePerS: 1e6, stationPublishBurst: 1e6 } }
      : {}),
    ...(redis ? { redisUrl: redis.url } : {}),
    log: () => {},
  })
  const sub = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: 'evmon-ingest-bench',
    clean: false,
    ...(secure ? { username: 'ingest', password: ingestSecret } : {}),
  })
  await sub.subscribeAsync('evmon/v1/#', { qos: 1 })
  const pub = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: 'beibei.zn-super',
    ...(secure ? { username: 'beibei/zn-super', password: stationSecret } : {}),
  })
  let received = 0
  const done = new Promise<void>((resolve) =>
    sub.on('message', () => {
      if (++received === messages) resolve()
    }),
  )
  const started = performance.now()
  let sent = 0
  const worker = async () => {
    while (sent < messages) {
      sent++
      await pub.publishAsync('evmon/v1/beibei/zn-super/telemetry', payload, { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, worker))
  await done
  const rate = messages / ((performance.now() - started) / 1000)
  await Promise.all([pub.endAsync(), sub.endAsync()])
  await broker.close()
  await redis?.stop()
  return rate
}

export default async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      persistence: { type: 'string', default: 'both' },
      messages: { type: 'string', default: '50000' },
    },
  })
  const messages = Number(values.messages)
  if (!Number.isInteger(messages) || messages < 1) throw new Error('--messages must be a positive integer')
  const choice = values.persistence
  if (choice !== 'redis' && choice !== 'memory' && choice !== 'both')
    throw new Error('--persistence must be redis, memory or both')
  const persistences: Persistence[] = choice === 'both' ? ['memory', 'redis'] : [choice]
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-broker-'))
  const fmt = (rate: number) => Math.round(rate).toLocaleString('en')
  const best: Record<string, number> = {}
  const late: Record<string, { online: number; backlog: number }> = {}
  // Modes alternate within each round, so a slower stretch of the machine falls on all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const persistence of persistences) {
      for (const mode of ['open', 'secure'] as const) {
        const rate = await run(mode === 'secure', persistence, dir, messages)
        const key = `${persistence} ${mode}`
        best[key] = Math.max(best[key] ?? 0, rate)
        console.log(`round ${round + 1} ${key.padEnd(13)} ${fmt(rate)} msg/s`)
      }
      const l = await lateAckRun({
        redis: persistence === 'redis',
        dir,
        messages,
        inflight: INFLIGHT,
        // The persistent run numbers its messages to check that each one arrives.
        payload: payload.replace('"seq":1', '"seq":0'),
      })
      const b = (late[persistence] ??= { online: 0, backlog: 0 })
      b.online = Math.max(b.online, l.online)
      b.backlog = Math.max(b.backlog, l.backlog)
      console.log(
        `round ${round + 1} ${`${persistence} late ack`.padEnd(13)} ${fmt(l.online)} msg/s online, ${fmt(l.backlog)} msg/s draining a backlog, ${l.duplicates} duplicates`,
      )
    }
  }
  rmSync(dir, { recursive: true, force: true })
  console.log(
    `\nQoS 1 pass-through to a persistent subscriber, ${messages.toLocaleString('en')} messages of ${payload.length} bytes, best of ${ROUNDS}:`,
  )
  for (const persistence of persistences) {
    const open = best[`${persistence} open`] as number
    const secure = best[`${persistence} secure`] as number
    console.log(`  ${persistence}: auth+ACL off ${fmt(open)} msg/s, on ${fmt(secure)} msg/s`)
    console.log(`  ${persistence}: security cost ${((1 - secure / open) * 100).toFixed(1)}% (goal < 10%)`)
  }
  if (persistences.length === 2) {
    const memory = best['memory secure'] as number
    const redis = best['redis secure'] as number
    console.log(
      `  Redis cost (auth+ACL on): ${fmt(redis)} vs ${fmt(memory)} msg/s in memory, ${((1 - redis / memory) * 100).toFixed(1)}% fewer`,
    )
  }
  console.log(
    `\nQoS 1 to a persistent subscriber that acknowledges after each (simulated) write, as ingest does, auth+ACL on, ${messages.toLocaleString('en')} messages per phase, best of ${ROUNDS}:`,
  )
  for (const persistence of persistences) {
    const l = late[persistence] as { online: number; backlog: number }
    console.log(
      `  ${persistence}: ${fmt(l.online)} msg/s with the subscriber online, ${fmt(l.backlog)} msg/s draining a backlog of ${messages.toLocaleString('en')}`,
    )
  }
}
