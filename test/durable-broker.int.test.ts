import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, expect, inject, test } from 'vitest'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { loadConfig, silentLogger, start as startIngest, type IngestConfig } from '@evmon/ingest'
import { startRedis, type RedisHandle } from './support/redis.ts'

// Issue 5's durability promise end to end: telemetry published while ingest is offline is queued for
// ingest's persistent session in Redis, survives a broker restart, and lands in InfluxDB in full.
const influxUrl = inject('influxUrl')
const dir = mkdtempSync(join(tmpdir(), 'evmon-durable-'))
let redis: RedisHandle | undefined
const brokers: BrokerHandle[] = []
afterAll(async () => {
  for (const broker of brokers) await broker.close()
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function count(db: string): Promise<number> {
  const q = encodeURIComponent('SELECT count(grid_power_w) FROM station')
  const body = (await (await fetch(`${influxUrl}/query?db=${db}&q=${q}`)).json()) as {
    results: { series?: { values: [string, number][] }[] }[]
  }
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

test('10,000 QoS 1 messages sent while ingest is offline survive a broker restart and all reach InfluxDB', async () => {
  redis = await startRedis()
  const broker = {
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    redisUrl: redis.url,
    log: () => {},
  }
  const first = await startBroker(broker)
  brokers.push(first)
  const config = (mqttUrl: string): IngestConfig => ({
    ...loadConfig({}),
    mqttUrl,
    influxUrl,
    influxDb: 'evmon_durable',
    clientId: 'evmon-ingest-durable',
    metricsPort: 0,
    deadLetterPath: join(dir, 'dead-letter.ndjson'),
    spoolDir: join(dir, 'spool'),
  })
  // Ingest subscribes once (persistent session), then goes away.
  await (await startIngest(config(first.mqttUrl), { logger: silentLogger })).close()

  const sent = 10_000
  const station = await mqtt.connectAsync(first.mqttUrl, { clientId: 'beibei.zn-super' })
  const t0 = Date.now() - sent * 1000
  const publishes: Promise<unknown>[] = []
  for (let seq = 0; seq < sent; seq++) {
    const telemetry = {
      v: 1,
      ts: t0 + seq * 1000,
      seq,
      meter: { grid_power_w: 1000 + seq, grid_energy_wh: seq, aux_power_w: 100 },
      connectors: [
        {
          id: 1,
          status: 'Charging',
          power_w: 900,
          offered_w: 1000,
          voltage_v: 400,
          current_a: 2.25,
          energy_wh: seq,
        },
      ],
    }
    publishes.push(
      station.publishAsync('evmon/v1/beibei/zn-super/telemetry', JSON.stringify(telemetry), { qos: 1 }),
    )
  }
  await Promise.all(publishes)
  await station.endAsync()
  expect(await count('evmon_durable')).toBe(0)

  await first.close()
  brokers.splice(0, 1)
  const second = await startBroker(broker)
  brokers.push(second)
  const ingest = await startIngest(config(second.mqttUrl), { logger: silentLogger })
  const deadline = Date.now() + 60_000
  while ((await count('evmon_durable')) < sent && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 250))
  await ingest.close()
  expect(await count('evmon_durable')).toBe(sent)
}, 120_000)
