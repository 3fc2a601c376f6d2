import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic } from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, inject, test } from 'vitest'
import { startInfluxd } from '../../test/support/influxd.ts'
import { readDeadLetterFile } from '../src/dead-letter.ts'
import { silentLogger, start } from '../src/index.ts'
import { publisher, query, telemetry, testConfig, waitFor } from './helpers.ts'

const influxUrl = inject('influxUrl')
const REPO_ROOT = join(import.meta.dirname, '..', '..')
const STATIONS = 10

let broker: BrokerHandle
let pub: MqttClient

beforeEach(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  pub = await publisher(broker.mqttUrl)
})

afterEach(async () => {
  await pub.endAsync()
  await broker.close()
})

/**
 * Publishes one telemetry message per station every `periodMs` until stopped, each with its own ts,
 * and counts them; `stop()` resolves once every publish was acknowledged by the broker.
 */
function steadyLoad(periodMs: number) {
  const base = Date.now() - 3_600_000
  let seq = 0
  const sends: Promise<unknown>[] = []
  const timer = setInterval(() => {
    for (let s = 0; s < STATIONS; s++)
      sends.push(
        pub.publishAsync(
          stationTopic('beibei', `st-${s}`, 'telemetry'),
          JSON.stringify(telemetry(base + seq * 1_000, seq)),
          { qos: 1 },
        ),
      )
    seq++
  }, periodMs)
  return {
    async stop(): Promise<number> {
      clearInterval(timer)
      await Promise.all(sends)
      return seq * STATIONS
    },
  }
}

const countIn = async (url: string, db: string, q: string) =>
  ((await query(url, db, q))[0]?.[1] as number) ?? 0
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// The outage the issue asks for: long enough for the retry back-off to reach its cap several times.
const OUTAGE_MS = 30_000

test('InfluxDB stopped for 30 s under steady load and started again: every point is stored exactly once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-influx-outage-'))
  let influx = await startInfluxd({ dir, port: 0 })
  const port = Number(new URL(influx.url).port)
  const config = testConfig(influx.url, broker.mqttUrl, { retryMaxMs: 500 })
  const ingest = await start(config, { logger: silentLogger })
  let maxUnacked = 0
  const sampler = setInterval(() => (maxUnacked = Math.max(maxUnacked, ingest.stats().unackedMessages)), 10)
  try {
    const load = steadyLoad(20)
    await sleep(1_500)
    await influx.stop()
    await sleep(OUTAGE_MS)
    expect(ingest.stats().pointsSpooled).toBeGreaterThan(0)
    expect(ingest.stats().spoolRecords).toBeGreaterThan(0)
    influx = await startInfluxd({ dir, port })
    await sleep(1_500)
    const messages = await load.stop()
    await waitFor(() => ingest.stats().pointsWritten === messages * 3, 'every point written', 30_000)
    expect(await countIn(influx.url, config.influxDb, 'SELECT count(grid_power_w) FROM station')).toBe(
      messages,
    )
    expect(await countIn(influx.url, config.influxDb, 'SELECT count(power_w) FROM connector')).toBe(
      messages * 2,
    )
    expect(ingest.stats()).toMatchObject({
      spoolRecords: 0,
      spoolFull: false,
      pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
    })
    // Spooled messages were acknowledged during the outage, not held back in memory.
    expect(maxUnacked).toBeLessThan(messages / 4)
  } finally {
    clearInterval(sampler)
    await ingest.close()
    await influx.stop()
  }
}, 90_000)

function spawnIngest(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('"ingest started"')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`ingest exited with ${code} before starting: ${out}`)))
  })
}

test('ingest SIGKILLed under load and restarted: every point is stored exactly once', async () => {
  const config = testConfig(influxUrl, broker.mqttUrl)
  const env = {
    EVMON_MQTT_URL: broker.mqttUrl,
    EVMON_INFLUX_URL: influxUrl,
    EVMON_INFLUX_DB: config.influxDb,
    EVMON_INGEST_CLIENT_ID: config.clientId,
    EVMON_INGEST_SPOOL_DIR: config.spoolDir,
    EVMON_INGEST_DEAD_LETTER: config.deadLetterPath,
    EVMON_INGEST_METRICS_PORT: '0',
    EVMON_INGEST_FLUSH_MS: '200',
  }
  let child = await spawnIngest(env)
  const load = steadyLoad(20)
  try {
    await sleep(1_500)
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    await sleep(500)
    child = await spawnIngest(env)
    await sleep(1_000)
    const messages = await load.stop()
    const db = config.influxDb
    await waitFor(
      async () => (await countIn(influxUrl, db, 'SELECT count(power_w) FROM connector')) === messages * 2,
      'every connector point stored',
      30_000,
    )
    expect(await countIn(influxUrl, db, 'SELECT count(grid_power_w) FROM station')).toBe(messages)
  } finally {
    await load.stop()
    child.kill('SIGTERM')
  }
})

test('ingest SIGKILLed while dead-lettering a flood and restarted: every rejected message is in the store', async () => {
  const config = testConfig(influxUrl, broker.mqttUrl)
  const env = {
    EVMON_MQTT_URL: broker.mqttUrl,
    EVMON_INFLUX_URL: influxUrl,
    EVMON_INFLUX_DB: config.influxDb,
    EVMON_INGEST_CLIENT_ID: config.clientId,
    EVMON_INGEST_SPOOL_DIR: config.spoolDir,
    EVMON_INGEST_DEAD_LETTER: config.deadLetterPath,
    EVMON_INGEST_METRICS_PORT: '0',
  }
  const messages = 5_000
  let child = await spawnIngest(env)
  // A clock an hour ahead: every message is refused (ts_future) and must end up in the store.
  let next = 0
  const send = async () => {
    for (let seq = next++; seq < messages; seq = next++) {
      const body = JSON.stringify(telemetry(Date.now() + 3_600_000, seq))
      await pub.publishAsync(stationTopic('beibei', 'kc-fast-2', 'telemetry'), body, { qos: 1 })
    }
  }
  const flood = Promise.all(Array.from({ length: 100 }, send))
  try {
    await waitFor(
      async () => (await readDeadLetterFile(config.deadLetterPath)).records.length > 200,
      'the first rejects stored',
    )
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    child = await spawnIngest(env)
    await flood
    const seqs = async () =>
      new Set(
        (await readDeadLetterFile(config.deadLetterPath)).records.map(
          (r) => r.kind === 'message' && (JSON.parse(r.payload as string) as { seq: number }).seq,
        ),
      )
    // Acknowledged only once on disk: what the killed process had acknowledged is in the file, and the
    // broker delivered the rest again. Some may be stored twice; none is missing.
    await waitFor(async () => (await seqs()).size === messages, 'every rejected message stored', 60_000)
  } finally {
    await flood.catch(() => undefined)
    child.kill('SIGTERM')
  }
}, 120_000)
