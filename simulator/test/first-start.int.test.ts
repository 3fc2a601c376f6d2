import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, inject, test } from 'vitest'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { backfillHistory } from '../../scripts/backfill.ts'
import { freePort } from '../../test/support/ports.ts'
import { repoRoot } from '../../scripts/stack.ts'

// npm start's first start: the simulator backfills through a real broker and ingest into a real
// InfluxDB, then the rollups of the backfilled range are built. Checked against the raw points
// themselves, and the registers left for the live run against the last raw readings.
const influxUrl = inject('influxUrl')
const database = 'evmon_first_start'
const dir = mkdtempSync(join(tmpdir(), 'evmon-first-start-'))
const children: ChildProcess[] = []
let broker: BrokerHandle | undefined
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await broker?.close()
  rmSync(dir, { recursive: true, force: true })
})

type Row = [string, ...(number | string | null)[]]
async function query(q: string): Promise<Row[]> {
  const res = await fetch(`${influxUrl}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: { series?: { values: Row[] }[] }[] }
  return body.results[0]?.series?.flatMap((s) => s.values) ?? []
}

test('a first start stores the backfilled history with its rollups and leaves the registers to continue', async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  const output: string[] = []
  const ingestStatus = await freePort()
  const ingest = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_INGEST_CLIENT_ID: 'evmon-ingest-first-start',
      EVMON_INGEST_SPOOL_DIR: join(dir, 'spool'),
      EVMON_INGEST_DEAD_LETTER: join(dir, 'dead-letter.ndjson'),
      EVMON_INGEST_METRICS_PORT: String(ingestStatus),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(ingest)
  for (const stream of [ingest.stdout, ingest.stderr])
    stream?.on('data', (d: Buffer) => output.push(String(d)))
  const metricsUrl = `http://127.0.0.1:${ingestStatus}/metrics`
  const deadline = Date.now() + 60_000
  while (
    !(
      await fetch(metricsUrl)
        .then((r) => r.text())
        .catch(() => '')
    ).includes('evmon_ingest_mqtt_connected 1\n')
  ) {
    if (Date.now() > deadline) throw new Error(`ingest did not subscribe\n${output.join('').slice(-2000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }

  const statePath = join(dir, 'beibei.json')
  const progress: string[] = []
  const durationS = 2 * 3600
  const took = await backfillHistory({
    repoRoot,
    env: {
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_SIM_PORT: String(await freePort()),
      EVMON_SIM_STATE: statePath,
    },
    durationS,
    intervalS: 10,
    influx: { url: influxUrl, database },
    ingestMetricsUrl: metricsUrl,
    log: (line) => output.push(line),
    progress: (line) => progress.push(line),
  })
  expect(progress.at(-1)).toMatch(/^\[#+\] 100\.0%/)
  expect(took.totalS).toBeGreaterThan(0)

  // Two hours of 10-s samples from each of the four stations (less what offline episodes lost).
  const stations = await query('SELECT count("grid_power_w") FROM "raw"."station" GROUP BY "station"')
  expect(stations).toHaveLength(4)
  for (const [, count] of stations) expect(count).toBeGreaterThan(0.9 * (durationS / 10))

  // Every minute of the range is rolled up, and each rolled-up register is the minute's largest raw reading.
  const raw = await query(
    `SELECT max("energy_wh") FROM "raw"."connector" WHERE "station" = 'zn-super' AND "connector" = '1' AND time > now() - 3h GROUP BY time(1m) fill(none)`,
  )
  const rolled = await query(
    `SELECT "energy_wh" FROM "rollup"."connector_1m" WHERE "station" = 'zn-super' AND "connector" = '1' AND time > now() - 3h`,
  )
  expect(raw.length).toBeGreaterThan(100)
  const rolledAt = new Map(rolled.map(([t, wh]) => [Number(t), wh]))
  const missing = raw.filter(([t, wh]) => rolledAt.get(Number(t)) !== wh)
  expect(missing).toEqual([])

  // The live run continues from the registers the backfill left: the last stored readings.
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    registers: { stations: Record<string, { connectorEnergyWh: Record<string, number> }> }
  }
  const [[, lastWh]] = (await query(
    `SELECT last("energy_wh") FROM "raw"."connector" WHERE "station" = 'zn-super' AND "connector" = '1'`,
  )) as [Row]
  expect(state.registers.stations['zn-super']?.connectorEnergyWh['1']).toBeCloseTo(Number(lastWh), 2)
}, 240_000)
