import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic } from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import { formatDeadLetter } from '../src/dead-letter.ts'
import { silentLogger, start, type IngestConfig, type IngestHandle } from '../src/index.ts'
import { publisher, query, readDeadLetters, telemetry, testConfig, waitFor } from './helpers.ts'

// One station with a clock an hour ahead floods 100,000 messages that ingest must refuse (ts_future)
// while four good stations publish as usual, through the real broker, ingest and InfluxDB. The
// dead-letter quota holds about 80,000 of them; the rest are held unacknowledged. Every refused
// message ends up in the store or unacknowledged (and, after a restart with room, in the store), every
// good point is stored, and the good stations' latency is measured while the flood goes on.

const influxUrl = inject('influxUrl')
const FLOOD = 100_000
const FITS = 80_000
const GOOD_STATIONS = ['zn-super', 'zn-fast', 'kc-fast-1', 'kc-ac']
const GOOD_PERIOD_MS = 100
const BAD = 'kc-fast-2'

let broker: BrokerHandle
let ingest: IngestHandle | undefined
let config: IngestConfig
const clients: MqttClient[] = []

const badPayload = (seq: number) => JSON.stringify(telemetry(Date.now() + 3_600_000, seq))

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  // The quota fits about FITS records of the flood (records grow by a few bytes as seq grows).
  const recordBytes = Buffer.byteLength(
    formatDeadLetter(
      {
        kind: 'message',
        reason: 'ts_future',
        detail: `ts ${Date.now()} is 3600000 ms ahead`,
        topic: stationTopic('beibei', BAD, 'telemetry'),
        receivedAt: Date.now(),
        payload: Buffer.from(badPayload(50_000)),
      },
      'lz0abc12-a1b2c3-1xyz',
    ),
  )
  config = testConfig(influxUrl, broker.mqttUrl, {
    deadLetterMaxBytes: FITS * recordBytes,
    maxHeldMessages: 30_000,
    flushIntervalMs: 100,
  })
}, 60_000)

afterAll(async () => {
  await ingest?.close()
  await Promise.all(clients.map((c) => c.endAsync()))
  await broker?.close()
})

/** Publishes QoS 1 with at most `window` unacknowledged at once, as a station's buffer flush would. */
async function publishMany(
  client: MqttClient,
  count: number,
  body: (i: number) => string,
  window = 500,
): Promise<void> {
  let next = 0
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      await client.publishAsync(stationTopic('beibei', BAD, 'telemetry'), body(i), { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: window }, worker))
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN

test('one station floods 100,000 rejectable messages: none dropped, good stations keep flowing', async () => {
  ingest = await start(config, { logger: silentLogger })
  const db = config.influxDb
  const bad = await publisher(broker.mqttUrl)
  const good = await Promise.all(GOOD_STATIONS.map(() => publisher(broker.mqttUrl)))
  clients.push(bad, ...good)

  // Good stations: one sample each per period, its time the moment it is sent.
  const sent = new Map<string, number[]>(GOOD_STATIONS.map((s) => [s, []]))
  let goodRunning = true
  const goodLoop = (async () => {
    for (let seq = 0; goodRunning; seq++) {
      const ts = Date.now()
      await Promise.all(
        GOOD_STATIONS.map((station, i) => {
          sent.get(station)?.push(ts)
          return good[i]?.publishAsync(
            stationTopic('beibei', station, 'telemetry'),
            JSON.stringify(telemetry(ts, seq)),
            {
              qos: 1,
            },
          )
        }),
      )
      await new Promise((r) => setTimeout(r, Math.max(0, ts + GOOD_PERIOD_MS - Date.now())))
    }
  })()

  // Latency of good points: InfluxDB is polled for each station's newest sample; a sample counts as
  // stored at the first poll that sees it (or a later one of the same station).
  const latencies: number[] = []
  const seen = new Map<string, number>(GOOD_STATIONS.map((s) => [s, 0]))
  let polling = true
  const pollLoop = (async () => {
    while (polling) {
      for (const station of GOOD_STATIONS) {
        const rows = await query(
          influxUrl,
          db,
          `SELECT last(grid_power_w) FROM station WHERE station = '${station}'`,
        )
        const newest = rows[0]?.[0] as number | undefined
        const times = sent.get(station) ?? []
        let i = seen.get(station) ?? 0
        const now = Date.now()
        while (newest !== undefined && i < times.length && (times[i] as number) <= newest)
          latencies.push(now - (times[i++] as number))
        seen.set(station, i)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  })()

  const floodStarted = Date.now()
  await publishMany(bad, FLOOD, badPayload)
  const floodPublishedMs = Date.now() - floodStarted
  await waitFor(
    () => ingest!.stats().messagesRejected.ts_future === FLOOD,
    'the whole flood received',
    120_000,
  )
  await waitFor(() => (ingest!.stats().heldMessages.get(BAD) ?? 0) > 0, 'the quota reached and rejects held')

  // While the bad station's rejects are held, the good stations still get through.
  const storedGood = async () =>
    (await query(influxUrl, db, 'SELECT count(grid_power_w) FROM station'))[0]?.[1] as number
  const before = await storedGood()
  await new Promise((r) => setTimeout(r, 2_000))
  expect(await storedGood()).toBeGreaterThan(before)
  expect(ingest.stats().heldMessages.get(BAD)).toBeGreaterThan(0)

  goodRunning = false
  await goodLoop
  const goodSent = [...sent.values()].reduce((n, t) => n + t.length, 0)
  await waitFor(async () => (await storedGood()) === goodSent, 'every good sample stored', 30_000)
  await waitFor(() => latencies.length === goodSent, 'the poller saw every good sample')
  polling = false
  await pollLoop

  // Every good point: one station point and two connector points per sample, recounted in InfluxDB.
  expect(await query(influxUrl, db, 'SELECT count(power_w) FROM connector')).toEqual([[0, goodSent * 2]])
  for (const station of GOOD_STATIONS) {
    const rows = await query(influxUrl, db, `SELECT grid_power_w FROM station WHERE station = '${station}'`)
    expect(rows.map((r) => r[0])).toEqual(sent.get(station))
  }

  // Every refused message is in the store or still unacknowledged: none dropped.
  const stats = ingest.stats()
  const stored = (await readDeadLetters(config.deadLetterPath)).filter((l) => l.kind === 'message')
  const held = stats.heldMessages.get(BAD) ?? 0
  const storedSeqs = new Set(stored.map((l) => (JSON.parse(l.payload as string) as { seq: number }).seq))
  expect(storedSeqs.size).toBe(stored.length)
  expect(stored.length + held).toBe(FLOOD)
  expect(stored.length).toBeGreaterThan(FITS * 0.9)
  expect(stats.deadLetterFull).toBe(true)
  expect(stats.deadLetterWarning).toBe(true)
  expect(stats.unackedMessages).toBe(held)
  const metrics = await (await fetch(`${ingest.statusUrl}/metrics`)).text()
  expect(metrics).toContain(`evmon_ingest_held_messages{station="${BAD}"} ${held}\n`)
  expect(metrics).toContain('evmon_ingest_dead_letter_full 1\n')

  latencies.sort((a, b) => a - b)
  const report = {
    floodPublishedMs,
    goodSamples: goodSent,
    deadLettered: stored.length,
    heldUnacknowledged: held,
    goodLatencyMs: { p50: quantile(latencies, 0.5), p95: quantile(latencies, 0.95), max: latencies.at(-1) },
  }
  console.log('flood report', JSON.stringify(report))
  // Good stations were never stalled behind the flood for long (a poll every ~100 ms per station).
  expect(report.goodLatencyMs.p95).toBeLessThan(5_000)

  // The held messages were really kept by the broker: a restart with room stores every one of them.
  await ingest.close()
  ingest = await start(
    { ...config, deadLetterMaxBytes: config.deadLetterMaxBytes * 2 },
    { logger: silentLogger },
  )
  await waitFor(
    async () => ingest!.stats().deadLetterEntries === held,
    'the held messages redelivered and stored',
    60_000,
  )
  await waitFor(() => ingest!.stats().unackedMessages === 0, 'every message acknowledged')
  const all = (await readDeadLetters(config.deadLetterPath)).filter((l) => l.kind === 'message')
  const seqs = new Set(all.map((l) => (JSON.parse(l.payload as string) as { seq: number }).seq))
  expect(seqs.size).toBe(FLOOD)
  expect(all.length).toBe(FLOOD)
}, 300_000)
