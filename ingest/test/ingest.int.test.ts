import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic, type StatusEvent } from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, inject, test } from 'vitest'
import { silentLogger, start, type IngestConfig, type IngestHandle } from '../src/index.ts'
import { corpusBaseline, malformedCorpus } from './corpus.ts'
import { publisher, query, readDeadLetters, tcpProxy, telemetry, testConfig, waitFor } from './helpers.ts'

const influxUrl = inject('influxUrl')
const HOUR_MS = 3_600_000

let broker: BrokerHandle
let ingest: IngestHandle | undefined
let pub: MqttClient
let config: IngestConfig

beforeEach(async () => {
  broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    // Above the contract's 64 KiB, so the ingest's own size check is what refuses a large payload.
    limits: { maxPayloadBytes: 256 * 1024 },
    log: () => {},
  })
  config = testConfig(influxUrl, broker.mqttUrl)
  pub = await publisher(broker.mqttUrl)
})

afterEach(async () => {
  await ingest?.close()
  ingest = undefined
  await pub.endAsync()
  await broker.close()
})

const topic = (kind: 'telemetry' | 'status', station = 'zn-super') => stationTopic('beibei', station, kind)
const publishRaw = (t: string, body: string | Buffer) => pub.publishAsync(t, body, { qos: 1 })
const publishJson = (t: string, body: unknown) => publishRaw(t, JSON.stringify(body))
const count = async (db: string, q: string) => ((await query(influxUrl, db, q))[0]?.[1] as number) ?? 0

test('telemetry from two stations lands as exactly one station point and one point per connector', async () => {
  ingest = await start(config, { logger: silentLogger })
  const base = Date.now() - HOUR_MS
  const stations = ['zn-super', 'zn-fast']
  const perStation = 250
  const sends: Promise<unknown>[] = []
  for (let seq = 0; seq < perStation; seq++) {
    for (const station of stations)
      sends.push(publishJson(topic('telemetry', station), telemetry(base + seq * 1_000, seq)))
  }
  await Promise.all(sends)
  const messages = perStation * stations.length
  await waitFor(() => ingest!.stats().pointsWritten === messages * 3, 'every point written')
  await waitFor(() => ingest!.stats().unackedMessages === 0, 'every message acknowledged')

  const db = config.influxDb
  for (const station of stations) {
    const samples = Array.from({ length: perStation }, (_, seq) => telemetry(base + seq * 1_000, seq))
    expect(
      await query(
        influxUrl,
        db,
        `SELECT grid_power_w, grid_energy_wh, aux_power_w FROM station WHERE station = '${station}'`,
      ),
    ).toEqual(samples.map((t) => [t.ts, t.meter.grid_power_w, t.meter.grid_energy_wh, t.meter.aux_power_w]))
    expect(
      await query(
        influxUrl,
        db,
        `SELECT connector, power_w, energy_wh, soc_pct, status, session, seq FROM connector WHERE station = '${station}'`,
      ),
    ).toEqual(
      samples.flatMap((t) =>
        t.connectors.map((c) => [
          t.ts,
          String(c.id),
          c.power_w,
          c.energy_wh,
          c.soc_pct ?? null,
          c.status,
          c.session ?? null,
          t.seq,
        ]),
      ),
    )
  }
  expect(ingest.stats()).toMatchObject({
    messagesReceived: messages,
    pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
    writeErrors: 0,
  })
})

test('invalid messages are refused by reason and dead-lettered while every valid point is stored', async () => {
  ingest = await start(config, { logger: silentLogger })
  const now = Date.now()
  const base = now - HOUR_MS
  const valid = Array.from({ length: 20 }, (_, seq) => telemetry(base + seq * 1_000, seq))
  const invalid: [reason: string, topic: string, payload: string | Buffer][] = [
    ['json', topic('telemetry'), '{"v":1,"ts":'],
    ['json', topic('telemetry'), Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    ['schema', topic('telemetry'), JSON.stringify({ ...telemetry(base + 500, 1), meter: undefined })],
    [
      'schema',
      topic('status'),
      JSON.stringify({ ts: base, connector: 1, status: 'Exploded', error_code: 'NoError' }),
    ],
    ['topic', 'evmon/v1/Beibei/zn-super/telemetry', JSON.stringify(telemetry(base + 600, 1))],
    ['topic', 'evmon/v1/beibei/zn super/telemetry', JSON.stringify(telemetry(base + 700, 1))],
    ['topic', 'evmon/v1/beibei/zn-super/firmware', '{}'],
    ['ts_future', topic('telemetry'), JSON.stringify(telemetry(now + HOUR_MS, 30))],
    ['ts_past', topic('telemetry'), JSON.stringify(telemetry(now - 40 * 24 * HOUR_MS, 31))],
    // Later than every valid sample, seq still counting up, with registers below the last accepted ones.
    ['energy_backwards', topic('telemetry'), JSON.stringify({ ...telemetry(base + 100_000, 2), seq: 1_000 })],
    [
      'too_large',
      topic('telemetry'),
      JSON.stringify({ ...telemetry(base + 800, 1), pad: 'x'.repeat(70_000) }),
    ],
    [
      'duplicate_connector',
      topic('telemetry'),
      JSON.stringify({
        ...telemetry(base + 900, 1),
        connectors: [telemetry(0, 1).connectors[0], telemetry(0, 1).connectors[0]],
      }),
    ],
  ]
  // Interleaved, one at a time, so the backwards sample arrives after the valid ones it contradicts.
  for (let i = 0; i < valid.length; i++) {
    await publishJson(topic('telemetry'), valid[i])
    const bad = invalid[i]
    if (bad && bad[0] !== 'energy_backwards') await publishRaw(bad[1], bad[2])
  }
  const backwards = invalid.find(([reason]) => reason === 'energy_backwards')!
  await publishRaw(backwards[1], backwards[2])

  const total = valid.length + invalid.length
  await waitFor(() => ingest!.stats().messagesReceived === total, 'every message received')
  await waitFor(
    () => ingest!.stats().unackedMessages === 0 && ingest!.stats().pendingPoints === 0,
    'all handled',
  )
  await waitFor(() => ingest!.stats().deadLetterEntries === invalid.length, 'dead letters on disk')

  const expectedRejects: Record<string, number> = {}
  for (const [reason] of invalid) expectedRejects[reason] = (expectedRejects[reason] ?? 0) + 1
  const stats = ingest.stats()
  for (const [reason, n] of Object.entries(stats.messagesRejected))
    expect([reason, n]).toEqual([reason, expectedRejects[reason] ?? 0])
  expect(stats.pointsWritten).toBe(valid.length * 3)

  const db = config.influxDb
  expect(await count(db, 'SELECT count(grid_power_w) FROM station')).toBe(valid.length)
  expect(await count(db, 'SELECT count(power_w) FROM connector')).toBe(valid.length * 2)
  expect(await query(influxUrl, db, `SELECT * FROM station WHERE time > ${base + 19_000}ms`)).toEqual([])
  expect(await query(influxUrl, db, 'SELECT * FROM event')).toEqual([])

  const letters = await readDeadLetters(config.deadLetterPath)
  expect(letters.map((l) => l.reason).sort()).toEqual(invalid.map(([reason]) => reason).sort())
  const binary = letters.find((l) => l.payload_base64 !== undefined)
  expect(Buffer.from(binary?.payload_base64 as string, 'base64')).toEqual(
    Buffer.from([0xff, 0xfe, 0x00, 0x01]),
  )
  expect(letters.find((l) => l.reason === 'too_large')).toMatchObject({ truncated: true, kind: 'message' })
  for (const letter of letters)
    expect(letter).toMatchObject({
      topic: expect.any(String),
      detail: expect.any(String),
      receivedAt: expect.any(Number),
    })

  // Still running: a valid message afterwards is stored, and health and metrics tell the story.
  await publishJson(topic('telemetry'), telemetry(base + 200_000, 200))
  await waitFor(
    async () => (await count(db, 'SELECT count(grid_power_w) FROM station')) === valid.length + 1,
    'later message',
  )
  const health = await fetch(`${ingest.statusUrl}/healthz`)
  expect(health.status).toBe(200)
  const metrics = await (await fetch(`${ingest.statusUrl}/metrics`)).text()
  expect(metrics).toContain('evmon_ingest_messages_rejected_total{reason="json"} 2\n')
  expect(metrics).toContain('evmon_ingest_messages_rejected_total{reason="energy_backwards"} 1\n')
  expect(metrics).toContain(`evmon_ingest_points_written_total ${(valid.length + 1) * 3}\n`)
})

test('a message delivered several times is stored once', async () => {
  ingest = await start(config, { logger: silentLogger })
  const ts = Date.now() - HOUR_MS
  const sample = JSON.stringify(telemetry(ts, 7))
  const status = JSON.stringify({ ts, connector: 1, status: 'Faulted', error_code: 'HighTemperature' })
  for (let i = 0; i < 3; i++) {
    await publishRaw(topic('telemetry'), sample)
    await publishRaw(topic('status'), status)
  }
  await waitFor(() => ingest!.stats().pointsWritten === 3 * 4, 'every copy written')
  const db = config.influxDb
  expect(await count(db, 'SELECT count(grid_power_w) FROM station')).toBe(1)
  expect(await count(db, 'SELECT count(power_w) FROM connector')).toBe(2)
  expect(await query(influxUrl, db, 'SELECT status, error_code FROM event')).toEqual([
    [ts, 'Faulted', 'HighTemperature'],
  ])
})

test('vendor_error text with quotes, backslashes, commas, spaces and unicode round-trips unchanged', async () => {
  ingest = await start(config, { logger: silentLogger })
  const texts = [
    'say "overheat"',
    'C:\\logs\\err\\',
    'a,b,,c',
    '  leading and trailing  ',
    'key=value, x="y"',
    '北碚液冷超充站 ⚡ Überhitzung',
    '\\"\\,\\ \\=',
  ]
  const base = Date.now() - HOUR_MS
  const events: StatusEvent[] = texts.map((vendor_error, i) => ({
    ts: base + i,
    connector: 1,
    status: 'Faulted',
    error_code: 'OtherError',
    vendor_error,
  }))
  for (const event of events) await publishJson(topic('status'), event)
  await waitFor(() => ingest!.stats().pointsWritten === events.length, 'events written')
  expect(await query(influxUrl, config.influxDb, 'SELECT vendor_error FROM event')).toEqual(
    events.map((e) => [e.ts, e.vendor_error]),
  )
})

test('lines InfluxDB refuses are dead-lettered alone and the rest of their batch is stored', async () => {
  const db = config.influxDb
  const ts = Date.now() - HOUR_MS
  // Make vendor_error a float in this shard: every later string value for it is a field type conflict.
  for (const q of [
    `CREATE DATABASE ${db}`,
    `CREATE RETENTION POLICY raw ON ${db} DURATION 30d REPLICATION 1 SHARD DURATION 1d DEFAULT`,
  ]) {
    const res = await fetch(`${influxUrl}/query?q=${encodeURIComponent(q)}`, { method: 'POST' })
    expect(await res.json()).toEqual({ results: [{ statement_id: 0 }] })
  }
  const seeded = await fetch(`${influxUrl}/write?db=${db}&rp=raw&precision=ms`, {
    method: 'POST',
    body: `event,connector=9,site=seed,station=seed,type=status vendor_error=1 ${ts}`,
  })
  expect([seeded.status, await seeded.text()]).toEqual([204, ''])

  ingest = await start({ ...config, flushIntervalMs: 500 }, { logger: silentLogger })
  const conflicting = [3, 11, 17].map((i) => ({
    ts: ts + i,
    connector: 1,
    status: 'Faulted',
    error_code: 'OtherError',
    vendor_error: `E${i}`,
  }))
  const fine = [5, 13].map((i) => ({ ts: ts + i, connector: 2, status: 'Available', error_code: 'NoError' }))
  await Promise.all([
    ...Array.from({ length: 20 }, (_, seq) =>
      publishJson(topic('telemetry'), telemetry(ts + seq * 1_000, seq)),
    ),
    ...[...conflicting, ...fine].map((e) => publishJson(topic('status'), e)),
  ])
  await waitFor(
    () => ingest!.stats().pointsDeadLettered.write_rejected === conflicting.length,
    'conflicting lines set aside',
  )
  await waitFor(() => ingest!.stats().unackedMessages === 0, 'every message acknowledged')

  expect(ingest.stats()).toMatchObject({ pointsWritten: 20 * 3 + fine.length, batchesWritten: 1 })
  expect(await count(db, 'SELECT count(grid_power_w) FROM station')).toBe(20)
  expect(await count(db, 'SELECT count(power_w) FROM connector')).toBe(40)
  expect(await query(influxUrl, db, `SELECT status FROM event WHERE station = 'zn-super'`)).toEqual(
    fine.map((e) => [e.ts, e.status]),
  )
  await waitFor(() => ingest!.stats().deadLetterEntries === conflicting.length, 'dead letters on disk')
  const letters = await readDeadLetters(config.deadLetterPath)
  expect(letters.map((l) => [l.kind, l.reason, l.status])).toEqual(
    conflicting.map(() => ['line', 'write_rejected', 400]),
  )
  const refused = letters.map((l) => /vendor_error="([^"]*)"/.exec(l.line as string)?.[1])
  expect(refused.sort()).toEqual(conflicting.map((e) => e.vendor_error).sort())
  expect(letters[0]?.detail).toMatch(/field type conflict/)
})

test('during an InfluxDB outage messages are spooled and acknowledged, then written, and health follows', async () => {
  const proxy = await tcpProxy(influxUrl)
  ingest = await start({ ...config, influxUrl: proxy.url }, { logger: silentLogger })
  const base = Date.now() - HOUR_MS
  for (let seq = 0; seq < 10; seq++) await publishJson(topic('telemetry'), telemetry(base + seq * 1_000, seq))
  await waitFor(() => ingest!.stats().pointsSpooled === 30, 'every point spooled')
  await waitFor(() => ingest!.stats().writeErrors >= 3, 'failed writes while InfluxDB is unreachable')
  expect((await fetch(`${ingest.statusUrl}/healthz`)).status).toBe(503)
  expect(ingest.stats()).toMatchObject({ pointsWritten: 0, unackedMessages: 0, spoolFull: false })
  expect(ingest.stats().spoolRecords).toBeGreaterThan(0)

  // The database did not exist either: the first write after the outage recreates it.
  await proxy.up()
  await waitFor(() => ingest!.stats().pointsWritten === 30, 'points written after the outage')
  await waitFor(() => ingest!.stats().spoolRecords === 0, 'spool drained')
  expect((await fetch(`${ingest.statusUrl}/healthz`)).status).toBe(200)
  expect(await count(config.influxDb, 'SELECT count(grid_power_w) FROM station')).toBe(10)
  await ingest.close()
  ingest = undefined
  await proxy.down()
})

test('batches spooled before close are written by the next start, with messages queued meanwhile', async () => {
  const proxy = await tcpProxy(influxUrl)
  const first = await start(
    { ...config, influxUrl: proxy.url, closeTimeoutMs: 300 },
    { logger: silentLogger },
  )
  const base = Date.now() - HOUR_MS
  for (let seq = 0; seq < 15; seq++) await publishJson(topic('telemetry'), telemetry(base + seq * 1_000, seq))
  await waitFor(() => first.stats().pointsSpooled === 45, 'points spooled')
  expect(first.stats().unackedMessages).toBe(0)
  await first.close()

  // While ingest is away, the broker queues for its persistent session.
  for (let seq = 15; seq < 25; seq++)
    await publishJson(topic('telemetry'), telemetry(base + seq * 1_000, seq))
  ingest = await start(config, { logger: silentLogger })
  await waitFor(() => ingest!.stats().pointsWritten === 25 * 3, 'redelivered and queued points written')
  expect(await count(config.influxDb, 'SELECT count(grid_power_w) FROM station')).toBe(25)
  await proxy.down()
})

test('close writes the points still waiting in a partial batch before disconnecting', async () => {
  ingest = await start({ ...config, flushIntervalMs: 60_000 }, { logger: silentLogger })
  const base = Date.now() - HOUR_MS
  for (let seq = 0; seq < 5; seq++) await publishJson(topic('telemetry'), telemetry(base + seq * 1_000, seq))
  await waitFor(() => ingest!.stats().messagesReceived === 5, 'messages received')
  expect(ingest.stats()).toMatchObject({ pendingPoints: 15, pointsWritten: 0 })
  await ingest.close()
  expect(ingest.stats()).toMatchObject({ pendingPoints: 0, pointsWritten: 15, unackedMessages: 0 })
  ingest = undefined
  expect(await count(config.influxDb, 'SELECT count(grid_power_w) FROM station')).toBe(5)
})

test('health turns unhealthy when the broker goes away', async () => {
  ingest = await start(config, { logger: silentLogger })
  const healthy = await fetch(`${ingest.statusUrl}/healthz`)
  expect([healthy.status, await healthy.json()]).toEqual([
    200,
    expect.objectContaining({ mqtt: 'connected' }),
  ])
  await pub.endAsync()
  await broker.close()
  await waitFor(() => !ingest!.stats().mqttConnected, 'disconnect noticed')
  const unhealthy = await fetch(`${ingest.statusUrl}/healthz`)
  expect([unhealthy.status, await unhealthy.json()]).toEqual([
    503,
    expect.objectContaining({ mqtt: 'disconnected' }),
  ])
  // Fresh ones for afterEach to close.
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  pub = await publisher(broker.mqttUrl)
})

test('start fails within the connect timeout when the broker is unreachable', async () => {
  const closedPort = (await tcpProxy(influxUrl)).url.replace('http:', 'mqtt:')
  const started = Date.now()
  await expect(
    start({ ...config, mqttUrl: closedPort, connectTimeoutMs: 500 }, { logger: silentLogger }),
  ).rejects.toThrow(/no MQTT connection/)
  expect(Date.now() - started).toBeLessThan(5_000)
})

test('the malformed corpus is refused message by message with its reasons and leaves no point behind', async () => {
  ingest = await start(config, { logger: silentLogger })
  const now = Date.now()
  const corpus = malformedCorpus(now)
  const baseline = corpusBaseline(now)
  await publishRaw(baseline.topic, baseline.payload)
  for (const c of corpus) await publishRaw(c.topic, c.payload)
  await waitFor(() => ingest!.stats().messagesReceived === corpus.length + 1, 'every message received')
  await waitFor(() => ingest!.stats().deadLetterEntries === corpus.length, 'dead letters on disk')
  await waitFor(() => ingest!.stats().pointsWritten === 3, 'the baseline written')

  const expected: Record<string, number> = {}
  for (const c of corpus) expected[c.reason] = (expected[c.reason] ?? 0) + 1
  for (const [reason, n] of Object.entries(ingest.stats().messagesRejected))
    expect([reason, n]).toEqual([reason, expected[reason] ?? 0])
  const letters = await readDeadLetters(config.deadLetterPath)
  expect(letters.map((l) => l.reason)).toEqual(corpus.map((c) => c.reason))
  // Only the baseline sample is stored, in every measurement.
  const db = config.influxDb
  expect(await query(influxUrl, db, 'SHOW MEASUREMENTS')).toEqual([['connector'], ['station']])
  expect(await count(db, 'SELECT count(grid_power_w) FROM station')).toBe(1)
  expect(await count(db, 'SELECT count(power_w) FROM connector')).toBe(2)
  expect(ingest.stats()).toMatchObject({
    pointsWritten: 3,
    pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
  })
})

test('session events are stored as event points (a redelivery overwrites itself), and a restarted register an event', async () => {
  ingest = await start(config, { logger: silentLogger })
  const t0 = Date.now() - HOUR_MS
  const sessionTopic = stationTopic('beibei', 'zn-super', 'session')
  const started = { ts: t0, event: 'started', session: 'zn-42', connector: 1, vehicle: 'EV9', soc_pct: 20 }
  const stopped = {
    ts: t0 + 120_000,
    event: 'stopped',
    session: 'zn-42',
    connector: 1,
    energy_wh: 30_000,
    soc_pct: 80,
    reason: 'Local',
  }
  await publishJson(sessionTopic, started)
  const charging = (ts: number, seq: number, energyBaseWh?: number) => {
    const t = telemetry(ts, seq, energyBaseWh)
    t.connectors[0] = { ...t.connectors[0]!, session: 'zn-42' }
    return t
  }
  for (let seq = 1; seq <= 5; seq++) await publishJson(topic('telemetry'), charging(t0 + seq * 1_000, seq))
  // The station restarts: seq and registers start over. Accepted, with a register_reset event.
  await publishJson(topic('telemetry'), charging(t0 + 6_000, 0, 0))
  await publishJson(sessionTopic, stopped)
  await publishJson(sessionTopic, stopped) // redelivered: overwrites itself
  await waitFor(
    () => ingest!.stats().unackedMessages === 0 && ingest!.stats().messagesReceived === 9,
    'handled',
  )
  await waitFor(() => ingest!.stats().pendingPoints === 0, 'written')

  const db = config.influxDb
  // The API derives sessions from these events; ingest writes no session measurement of its own.
  expect(
    await query(
      influxUrl,
      db,
      `SELECT "type", session, vehicle, soc_pct, energy_wh, reason FROM event WHERE "type" =~ /^session_/`,
    ),
  ).toEqual([
    [t0, 'session_started', 'zn-42', 'EV9', 20, null, null],
    [t0 + 120_000, 'session_stopped', 'zn-42', null, 80, 30_000, 'Local'],
  ])
  expect(await query(influxUrl, db, 'SHOW MEASUREMENTS')).toEqual([['connector'], ['event'], ['station']])
  const resets = await query(
    influxUrl,
    db,
    `SELECT connector, reason FROM event WHERE "type" = 'register_reset'`,
  )
  expect(resets.map((r) => r[1]).sort()).toEqual(['1', '2', null])
  expect(resets.find((r) => r[1] === null)?.[2]).toMatch(
    /grid_energy_wh reset from 1000500 to 0: seq restarted \(5 → 0\)/,
  )
  expect(ingest.stats()).toMatchObject({ registerResets: 3 })
})

test('a full spool stops acknowledgements and raises the alert, and everything is stored once InfluxDB returns', async () => {
  const proxy = await tcpProxy(influxUrl)
  ingest = await start(
    { ...config, influxUrl: proxy.url, spoolMaxBytes: 1024 * 1024, batchSizePoints: 300 },
    { logger: silentLogger },
  )
  const base = Date.now() - HOUR_MS
  const messages = 3_000
  await Promise.all(
    Array.from({ length: messages }, (_, seq) =>
      publishJson(topic('telemetry', `st-${seq % 10}`), telemetry(base + seq * 1_000, seq)),
    ),
  )
  await waitFor(() => ingest!.stats().spoolFull, 'the spool full')
  await waitFor(() => ingest!.stats().messagesReceived === messages, 'every message received')
  const stats = ingest.stats()
  expect(stats.unackedMessages).toBeGreaterThan(0)
  expect(stats.spoolBytes).toBeLessThanOrEqual(1024 * 1024)
  const health = await fetch(`${ingest.statusUrl}/healthz`)
  expect([health.status, await health.json()]).toEqual([503, expect.objectContaining({ spool: 'full' })])
  expect(await (await fetch(`${ingest.statusUrl}/metrics`)).text()).toContain('evmon_ingest_spool_full 1\n')

  await proxy.up()
  await waitFor(() => ingest!.stats().pointsWritten === messages * 3, 'every point written', 30_000)
  await waitFor(() => ingest!.stats().unackedMessages === 0, 'every message acknowledged')
  expect(ingest.stats()).toMatchObject({ spoolFull: false, spoolRecords: 0 })
  expect(await count(config.influxDb, 'SELECT count(grid_power_w) FROM station')).toBe(messages)
  await ingest.close()
  ingest = undefined
  await proxy.down()
})
