// Ingest throughput and latency, in one run against one private influxd:
//  (a) the raw ceiling: the same points as line protocol, 5,000-line batches, 2 writes at a time,
//      straight to InfluxDB;
//  (b) end to end: station telemetry (4 connectors per message) published at QoS 1 to the in-process
//      evmon broker, through ingest (a child process, as deployed) into the same InfluxDB, verified by
//      count; then a steady 10,000 connectors/s with latency from sample time to queryable.
// Usage: npm run bench -- ingest [--messages 60000] [--seconds 20]
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { start as startBroker } from '@evmon/broker'
import { stationTopic, type Telemetry } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { startInfluxd } from '../scripts/influxd.ts'

const CONNECTORS = 4
const POINTS_PER_MESSAGE = 1 + CONNECTORS
const STATIONS = 2_500 // at one message per second each: 10,000 connectors/s
const PROBE_STATIONS = 50 // of those, the ones whose points are polled for latency
const PUBLISHERS = 4
const INFLIGHT_PER_PUBLISHER = 250
const RAW_BATCH_LINES = 5_000
const RAW_CONCURRENCY = 2
const REPO_ROOT = join(import.meta.dirname, '..')

function sample(ts: number, seq: number): Telemetry {
  return {
    v: 1,
    ts,
    seq,
    meter: {
      grid_power_w: 471_200 + seq,
      grid_energy_wh: 123_456_789 + seq * 130,
      aux_power_w: 2_100,
      cabinet_temp_c: 41.2,
    },
    connectors: Array.from({ length: CONNECTORS }, (_, i) => ({
      id: i + 1,
      status: 'Charging' as const,
      power_w: 112_000 + i,
      offered_w: 120_000,
      voltage_v: 768.2,
      current_a: 145.8,
      energy_wh: 1_234_567 + seq * 31,
      soc_pct: 43.1,
      temp_c: 62,
      coolant_c: 38.4,
    })),
  }
}

async function influxQuery(url: string, db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`, { method: 'POST' })
  const body = (await res.json()) as { results: { error?: string; series?: { values: unknown[][] }[] }[] }
  if (body.results[0]?.error) throw new Error(body.results[0].error)
  return body.results[0]?.series?.[0]?.values ?? []
}

const count = async (url: string, db: string, q: string) =>
  Number((await influxQuery(url, db, q))[0]?.[1] ?? 0)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The line protocol ingest would write for `messages` telemetry messages, without MQTT. */
function rawLines(messages: number, base: number): string[] {
  const lines: string[] = []
  for (let m = 0; m < messages; m++) {
    const station = `st-${m % STATIONS}`
    const seq = Math.floor(m / STATIONS)
    const t = sample(base + seq * 1_000, seq)
    lines.push(
      `station,site=raw,station=${station} grid_power_w=${t.meter.grid_power_w},grid_energy_wh=${t.meter.grid_energy_wh},aux_power_w=2100,cabinet_temp_c=41.2 ${t.ts}`,
    )
    for (const c of t.connectors)
      lines.push(
        `connector,connector=${c.id},site=raw,station=${station} power_w=${c.power_w},offered_w=120000,voltage_v=768.2,current_a=145.8,energy_wh=${c.energy_wh},soc_pct=43.1,temp_c=62,coolant_c=38.4,status="Charging",occupied=1,in_service=1,seq=${seq}i ${t.ts}`,
      )
  }
  return lines
}

async function rawCeiling(url: string, db: string, messages: number): Promise<number> {
  const lines = rawLines(messages, Date.now() - 6 * 3_600_000)
  const batches: string[] = []
  for (let i = 0; i < lines.length; i += RAW_BATCH_LINES)
    batches.push(lines.slice(i, i + RAW_BATCH_LINES).join('\n'))
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: RAW_CONCURRENCY }, async () => {
      while (next < batches.length) {
        const body = batches[next++] as string
        const res = await fetch(`${url}/write?db=${db}&rp=raw&precision=ms`, { method: 'POST', body })
        if (res.status !== 204) throw new Error(`raw write: ${res.status} ${await res.text()}`)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const stored = await count(url, db, `SELECT count(power_w) FROM connector WHERE site = 'raw'`)
  if (stored !== messages * CONNECTORS)
    throw new Error(`raw: ${stored} connector points, expected ${messages * CONNECTORS}`)
  return lines.length / seconds
}

function spawnIngest(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('"ingest started"')) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        resolve(child)
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`ingest exited (${code}): ${out}`)))
  })
}

/** Publishes as fast as the QoS 1 windows allow; resolves when the broker acknowledged everything. */
async function publishFlat(
  clients: MqttClient[],
  messages: number,
  site: string,
  base: number,
): Promise<void> {
  let next = 0
  await Promise.all(
    clients.map((client) =>
      Promise.all(
        Array.from({ length: INFLIGHT_PER_PUBLISHER }, async () => {
          while (next < messages) {
            const m = next++
            const seq = Math.floor(m / STATIONS)
            const topic = stationTopic(site, `st-${m % STATIONS}`, 'telemetry')
            await client.publishAsync(topic, JSON.stringify(sample(base + seq * 1_000, seq)), { qos: 1 })
          }
        }),
      ),
    ),
  )
}

async function waitForCount(
  url: string,
  db: string,
  site: string,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const stored = await count(url, db, `SELECT count(power_w) FROM connector WHERE site = '${site}'`)
    if (stored === expected) return
    if (stored > expected) throw new Error(`${site}: ${stored} connector points, more than ${expected}`)
    if (Date.now() > deadline) throw new Error(`${site}: ${stored} of ${expected} connector points stored`)
    await sleep(50)
  }
}

/**
 * Every station publishes once a second, spread evenly, with ts = now. Probe stations (site `probe`)
 * are polled every 25 ms; a sample's latency is the time its point first showed up in a query.
 */
async function steadyRate(clients: MqttClient[], url: string, db: string, seconds: number) {
  const latencies: number[] = []
  const pending = new Map<string, number>()
  let publishing = true
  const poller = (async () => {
    while (publishing || pending.size > 0) {
      const oldest = Math.min(...pending.values())
      if (Number.isFinite(oldest)) {
        const rows = await influxQuery(
          url,
          db,
          `SELECT grid_power_w, station FROM station WHERE site = 'probe' AND time >= ${oldest}ms`,
        )
        const now = Date.now()
        for (const [ts, , station] of rows) {
          const key = `${station}/${ts}`
          if (pending.delete(key)) latencies.push(now - Number(ts))
        }
      }
      await sleep(25)
    }
  })()
  const tickMs = 20
  const perTick = (STATIONS * tickMs) / 1_000
  const started = Date.now()
  const sends: Promise<unknown>[] = []
  let published = 0
  let probes = 0
  for (let tick = 0; Date.now() - started < seconds * 1_000; tick++) {
    for (let i = 0; i < perTick; i++) {
      const s = (tick * perTick + i) % STATIONS
      const seq = Math.floor((tick * perTick + i) / STATIONS)
      const probe = s < PROBE_STATIONS
      const ts = Date.now()
      const station = `st-${s}`
      if (probe) {
        pending.set(`${station}/${ts}`, ts)
        probes++
      }
      const client = clients[s % clients.length] as MqttClient
      sends.push(
        client.publishAsync(
          stationTopic(probe ? 'probe' : 'live', station, 'telemetry'),
          JSON.stringify(sample(ts, seq)),
          { qos: 1 },
        ),
      )
      published++
    }
    const due = started + (tick + 1) * tickMs
    await sleep(Math.max(0, due - Date.now()))
  }
  const elapsed = (Date.now() - started) / 1_000
  await Promise.all(sends)
  const deadline = Date.now() + 30_000
  while (pending.size > 0 && Date.now() < deadline) await sleep(50)
  publishing = false
  pending.clear()
  await poller
  await waitForCount(url, db, 'probe', probes * CONNECTORS, 30_000)
  await waitForCount(url, db, 'live', (published - probes) * CONNECTORS, 30_000)
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
  return {
    connectorsPerS: (published * CONNECTORS) / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    samples: latencies.length,
    probes,
  }
}

export default async function ingestBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { messages: { type: 'string', default: '60000' }, seconds: { type: 'string', default: '20' } },
  })
  const messages = Number(values.messages)
  const seconds = Number(values.seconds)
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-ingest-'))
  const influx = await startInfluxd({ dir: join(dir, 'influx'), port: 0 })
  const broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    log: () => {},
  })
  const db = 'bench'
  // The figures are CPU-bound on 2 cores: other work on the machine shows up in them directly.
  const load = () => loadavg()[0]?.toFixed(1)
  console.log(`load average (1 min) at start: ${load()}`)
  let ingest: ChildProcess | undefined
  const clients: MqttClient[] = []
  try {
    ingest = await spawnIngest({
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: influx.url,
      EVMON_INFLUX_DB: db,
      EVMON_INGEST_CLIENT_ID: 'evmon-ingest-bench',
      EVMON_INGEST_SPOOL_DIR: join(dir, 'spool'),
      EVMON_INGEST_DEAD_LETTER: join(dir, 'dead-letter.ndjson'),
      EVMON_INGEST_METRICS_PORT: '0',
    })
    for (let i = 0; i < PUBLISHERS; i++)
      clients.push(await mqtt.connectAsync(broker.mqttUrl, { clientId: `bench-pub-${i}` }))

    // The schema (raw policy) exists now that ingest started: the ceiling writes where ingest writes.
    const ceiling = await rawCeiling(influx.url, db, messages)
    console.log(
      `(a) raw ceiling: ${Math.round(ceiling).toLocaleString('en')} points/s (${(messages * POINTS_PER_MESSAGE).toLocaleString('en')} points, ${RAW_BATCH_LINES}-line batches, ${RAW_CONCURRENCY} at a time)`,
    )

    const started = performance.now()
    await publishFlat(clients, messages, 'flat', Date.now() - 5 * 3_600_000)
    await waitForCount(influx.url, db, 'flat', messages * CONNECTORS, 120_000)
    const e2e = (messages * POINTS_PER_MESSAGE) / ((performance.now() - started) / 1000)
    console.log(
      `(b) end to end: ${Math.round(e2e).toLocaleString('en')} points/s = ${Math.round(e2e / POINTS_PER_MESSAGE).toLocaleString('en')} msg/s = ${Math.round((e2e / POINTS_PER_MESSAGE) * CONNECTORS).toLocaleString('en')} connectors/s, every point counted; ${((100 * e2e) / ceiling).toFixed(1)}% of the raw ceiling`,
    )

    const steady = await steadyRate(clients, influx.url, db, seconds)
    console.log(
      `(c) steady ${Math.round(steady.connectorsPerS).toLocaleString('en')} connectors/s for ${seconds} s: sample time → queryable p50 ${steady.p50} ms, p99 ${steady.p99} ms (${steady.samples} of ${steady.probes} probe samples), every point counted`,
    )
    console.log(`load average (1 min) at end: ${load()}`)
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()))
    ingest?.kill('SIGTERM')
    await new Promise((r) => (ingest && ingest.exitCode === null ? ingest.once('exit', r) : r(undefined)))
    await broker.close()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
