import { spawn } from 'node:child_process'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic } from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, inject, test } from 'vitest'
import { runCli } from '../src/cli.ts'
import { silentLogger, start, type IngestConfig, type IngestHandle } from '../src/index.ts'
import type { RedriveResult } from '../src/redrive.ts'
import { publisher, query, readDeadLetters, telemetry, testConfig, waitFor } from './helpers.ts'

const influxUrl = inject('influxUrl')
const HOUR_MS = 3_600_000

let broker: BrokerHandle
let ingest: IngestHandle | undefined
let pub: MqttClient
let config: IngestConfig

beforeEach(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  config = testConfig(influxUrl, broker.mqttUrl)
  pub = await publisher(broker.mqttUrl)
})

afterEach(async () => {
  await ingest?.close()
  ingest = undefined
  await pub.endAsync()
  await broker.close()
})

const count = async (q: string) => ((await query(influxUrl, config.influxDb, q))[0]?.[1] as number) ?? 0

async function cli(
  command: 'dead-letters' | 'redrive',
  args: string[],
): Promise<{ status: number; out: string }> {
  const out: string[] = []
  const status = await runCli(
    command,
    [...args, '--json'],
    config,
    (t) => out.push(t),
    (t) => out.push(t),
  )
  return { status, out: out.join('\n') }
}

test('messages refused for a clock running ahead are redriven with a shift, stored once; a second redrive stores nothing', async () => {
  ingest = await start(config, { logger: silentLogger })
  const skew = 2 * HOUR_MS
  const base = Date.now() - 10 * 60_000
  // kc-fast-1's clock runs two hours ahead: every sample it sends is ts_future.
  const wrong = Array.from({ length: 20 }, (_, seq) => telemetry(base + skew + seq * 1_000, seq))
  const good = Array.from({ length: 5 }, (_, seq) => telemetry(base + seq * 1_000, seq))
  for (const t of wrong)
    await pub.publishAsync(stationTopic('beibei', 'kc-fast-1', 'telemetry'), JSON.stringify(t), { qos: 1 })
  for (const t of good)
    await pub.publishAsync(stationTopic('beibei', 'zn-super', 'telemetry'), JSON.stringify(t), { qos: 1 })
  await waitFor(
    () => ingest!.stats().messagesRejected.ts_future === wrong.length,
    'the skewed samples refused',
  )
  await waitFor(
    () => ingest!.stats().unackedMessages === 0 && ingest!.stats().pointsWritten === good.length * 3,
    'all handled',
  )
  expect(await count(`SELECT count(grid_power_w) FROM station WHERE station = 'kc-fast-1'`)).toBe(0)

  // Listed by reason and station, through the npm script's own entry point.
  const listed = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'ingest/src/main.ts', 'dead-letters', '--json'],
      {
        env: { ...process.env, EVMON_INGEST_DEAD_LETTER: config.deadLetterPath },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let text = ''
    child.stdout.on('data', (d: Buffer) => (text += d.toString()))
    child.on('error', reject)
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`dead-letters exited ${code}`)),
    )
  })
  expect((JSON.parse(listed) as { rows: unknown[] }).rows).toEqual([
    {
      reason: 'ts_future',
      station: 'kc-fast-1',
      records: 20,
      redriven: 0,
      first: expect.any(Number),
      last: expect.any(Number),
    },
  ])

  // The clock is fixed; its past samples come back two hours earlier (ingest still running).
  const first = await cli('redrive', [
    '--reason',
    'ts_future',
    '--station',
    'kc-fast-1',
    '--shift-time',
    String(-skew),
  ])
  expect(first.status).toBe(0)
  expect(JSON.parse(first.out) as RedriveResult).toEqual({
    matched: 20,
    alreadyRedriven: 0,
    redriven: 20,
    points: 20 * 3,
    stillRejected: [],
  })
  // Recomputed from the messages sent: each skewed sample once, at its corrected time, with its values.
  const expected = wrong.map((t) => [t.ts - skew, t.meter.grid_power_w])
  const stored = `SELECT grid_power_w FROM station WHERE station = 'kc-fast-1'`
  expect(await query(influxUrl, config.influxDb, stored)).toEqual(expected)
  expect(await count(`SELECT count(power_w) FROM connector WHERE station = 'kc-fast-1'`)).toBe(40)
  const total = await count('SELECT count(power_w) FROM connector')

  const second = await cli('redrive', ['--reason', 'ts_future', '--shift-time', String(-skew)])
  expect(JSON.parse(second.out) as RedriveResult).toEqual({
    matched: 20,
    alreadyRedriven: 20,
    redriven: 0,
    points: 0,
    stillRejected: [],
  })
  expect(await query(influxUrl, config.influxDb, stored)).toEqual(expected)
  expect(await count('SELECT count(power_w) FROM connector')).toBe(total)

  // The records are kept, each with one mark.
  const lines = await readDeadLetters(config.deadLetterPath)
  expect(lines.filter((l) => l.kind === 'message')).toHaveLength(20)
  expect(lines.filter((l) => l.kind === 'redriven')).toHaveLength(20)
  const summary = JSON.parse((await cli('dead-letters', [])).out) as { rows: { redriven: number }[] }
  expect(summary.rows.map((r) => r.redriven)).toEqual([20])
})

test('a redrive without the shift leaves them refused, unmarked, for a later attempt', async () => {
  ingest = await start(config, { logger: silentLogger })
  const t = telemetry(Date.now() + HOUR_MS, 1)
  await pub.publishAsync(stationTopic('beibei', 'kc-fast-1', 'telemetry'), JSON.stringify(t), { qos: 1 })
  await waitFor(() => ingest!.stats().deadLetterEntries === 1, 'dead-lettered')
  const { status, out } = await cli('redrive', [])
  expect(status).toBe(1)
  expect(JSON.parse(out)).toMatchObject({
    matched: 1,
    redriven: 0,
    points: 0,
    stillRejected: [{ reason: 'ts_future' }],
  })
  expect((await readDeadLetters(config.deadLetterPath)).filter((l) => l.kind === 'redriven')).toEqual([])
})

test('points older than the raw retention are dead-lettered as beyond_retention, never retried, never counted as stored', async () => {
  ingest = await start(config, { logger: silentLogger })
  // One hour (InfluxDB's minimum) instead of 30 days, so a sample three hours old is beyond it while
  // still inside what the contract accepts.
  const alter = `ALTER RETENTION POLICY raw ON ${config.influxDb} DURATION 1h SHARD DURATION 1h`
  const res = await fetch(`${influxUrl}/query?q=${encodeURIComponent(alter)}`, { method: 'POST' })
  expect(await res.json()).toEqual({ results: [{ statement_id: 0 }] })

  const old = telemetry(Date.now() - 3 * HOUR_MS, 1)
  const fresh = telemetry(Date.now() - 60_000, 2)
  const topic = stationTopic('beibei', 'zn-super', 'telemetry')
  await pub.publishAsync(topic, JSON.stringify(old), { qos: 1 })
  await pub.publishAsync(topic, JSON.stringify(fresh), { qos: 1 })
  await waitFor(() => ingest!.stats().pointsDeadLettered.beyond_retention === 3, 'the old points set aside')
  await waitFor(() => ingest!.stats().unackedMessages === 0, 'both messages acknowledged')

  const stats = ingest.stats()
  expect(stats.pointsWritten).toBe(3)
  expect(stats.pointsDeadLettered.write_rejected).toBe(0)
  expect(await query(influxUrl, config.influxDb, 'SELECT grid_power_w FROM station')).toEqual([
    [fresh.ts, fresh.meter.grid_power_w],
  ])
  const letters = await readDeadLetters(config.deadLetterPath)
  expect(letters.map((l) => [l.kind, l.reason, l.station])).toEqual(
    Array(3).fill(['line', 'beyond_retention', 'zn-super']),
  )
  expect(letters.every((l) => (l.line as string).endsWith(` ${old.ts}`))).toBe(true)
  expect(letters[0]?.detail).toMatch(/points beyond retention policy/)
  // Refused for good: no write is retried afterwards.
  const errors = ingest.stats().writeErrors
  await new Promise((r) => setTimeout(r, 500))
  expect(ingest.stats().writeErrors).toBe(errors)
  const metrics = await (await fetch(`${ingest.statusUrl}/metrics`)).text()
  expect(metrics).toContain('evmon_ingest_points_dead_lettered_total{reason="beyond_retention"} 3\n')
})

test('a redrive shifts held readings (measured_at of the meter and of a connector) with the sample', async () => {
  ingest = await start(config, { logger: silentLogger })
  const skew = HOUR_MS
  const ts = Date.now() + skew
  const sample = telemetry(ts, 1)
  const held = {
    ...sample,
    meter: { ...sample.meter, measured_at: ts - 20_000 },
    connectors: [{ ...sample.connectors[0], measured_at: ts - 30_000 }, sample.connectors[1]],
  }
  await pub.publishAsync(stationTopic('beibei', 'kc-ac', 'telemetry'), JSON.stringify(held), { qos: 1 })
  await waitFor(() => ingest!.stats().deadLetterEntries === 1, 'dead-lettered')
  const { status, out } = await cli('redrive', ['--shift-time', String(-skew)])
  expect([status, JSON.parse(out)]).toMatchObject([0, { redriven: 1, stillRejected: [] }])
  // Each reading is stored at its own time, moved like the sample's.
  const connector1 = `SELECT power_w FROM connector WHERE station = 'kc-ac' AND connector = '1'`
  expect(await query(influxUrl, config.influxDb, connector1)).toEqual([
    [ts - 30_000 - skew, sample.connectors[0]?.power_w],
  ])
  const meter = `SELECT grid_power_w FROM station WHERE station = 'kc-ac'`
  expect(await query(influxUrl, config.influxDb, meter)).toEqual([
    [ts - 20_000 - skew, sample.meter.grid_power_w],
  ])
})
