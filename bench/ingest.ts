// Ingest throughput and latency, in one run against one private influxd, with the pipeline deployed as
// `npm start` deploys it: the evmon broker (auth and ACL on) and ingest each in their own process.
//  (a) the raw ceiling: the same points as line protocol, straight to InfluxDB, best of several batch
//      sizes and write concurrencies;
//  (b) end to end: station telemetry (4 connectors per message) published at QoS 1 by a publisher
//      process, through the broker and ingest into the same InfluxDB, verified by count, with the CPU
//      each process used;
//  (a) and (b) run in rounds (a raw run at the best setting, then an end-to-end run); the median
//      round's ratio is the result;
//  (c) a steady 10,000 connectors/s with latency from sample time to queryable.
// The broker keeps ingest's session and queue in Redis (a private redis-server with an append-only
// file) as `npm start` deploys it; `--persistence memory` runs it without, to measure what Redis costs.
// Usage: npm run bench -- ingest [--messages 60000] [--seconds 20] [--batch 5000] [--concurrency 2]
//        [--rounds 3] [--profile DIR] [--persistence redis|memory]   (default: redis)
// This file is also the publisher process: run as a script, it takes orders from the bench over IPC.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Credentials } from '@evmon/broker'
import { stationTopic, type Telemetry } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { startInfluxd } from '../test/support/influxd.ts'
import { freePorts, waitForHttp } from '../test/support/ports.ts'
import { startRedis } from '../test/support/redis.ts'

const CONNECTORS = 4
const POINTS_PER_MESSAGE = 1 + CONNECTORS
const STATIONS = 2_500 // at one message per second each: 10,000 connectors/s
const PROBE_STATIONS = 50 // of those, the ones whose points are polled for latency
const PUBLISHERS = 4
const INFLIGHT_PER_PUBLISHER = 250
// Ingest's write settings in this run, and every setting the raw ceiling tries (ingest's among them):
// the ceiling is the best of them, so ingest is compared with InfluxDB at its fastest.
const INGEST_BATCH_POINTS = 5_000
const INGEST_CONCURRENCY = 2
const RAW_SETTINGS = [
  { batch: 5_000, concurrency: 1 },
  { batch: 5_000, concurrency: 2 },
  { batch: 5_000, concurrency: 4 },
  { batch: 10_000, concurrency: 2 },
  { batch: 10_000, concurrency: 4 },
  { batch: 20_000, concurrency: 2 },
]
const REPO_ROOT = join(import.meta.dirname, '..')
const SELF = fileURLToPath(import.meta.url)

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- publisher process ----------------------------------------------------------------------------

type Order =
  | { type: 'connect'; url: string; username: string; password: string }
  | { type: 'prepare'; messages: number; site: string; base: number }
  | { type: 'flat' }
  | { type: 'steady'; seconds: number }
  | { type: 'end' }
type Report =
  | { type: 'done' }
  | { type: 'probe'; key: string; ts: number }
  | { type: 'steady'; published: number; probes: number; seconds: number }

/** Publishes prepared messages as fast as the QoS 1 windows allow; resolves when all were acknowledged. */
async function publishFlat(clients: MqttClient[], messages: { topic: string; payload: Buffer }[]) {
  let next = 0
  await Promise.all(
    clients.map((client) =>
      Promise.all(
        Array.from({ length: INFLIGHT_PER_PUBLISHER }, async () => {
          while (next < messages.length) {
            const { topic, payload } = messages[next++] as { topic: string; payload: Buffer }
            await client.publishAsync(topic, payload, { qos: 1 })
          }
        }),
      ),
    ),
  )
}

/** Every station publishes once a second, spread evenly, with ts = now; probe stations use site `probe`. */
async function publishSteady(clients: MqttClient[], seconds: number, report: (r: Report) => void) {
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
        report({ type: 'probe', key: `${station}/${ts}`, ts })
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
  return { published, probes, seconds: elapsed }
}

/** The publisher process: a separate event loop (and core) from the broker's and the bench's. */
function publisherMain(): void {
  const clients: MqttClient[] = []
  let prepared: { topic: string; payload: Buffer }[] = []
  const report = (r: Report) => process.send?.(r)
  process.on('message', (order: Order) => {
    void (async () => {
      switch (order.type) {
        case 'connect':
          for (let i = 0; i < PUBLISHERS; i++)
            clients.push(
              await mqtt.connectAsync(order.url, {
                clientId: `bench-pub-${i}`,
                username: order.username,
                password: order.password,
              }),
            )
          break
        case 'prepare':
          // Serialised before the clock starts, as the raw ceiling's lines are: stations, not this
          // process, pay for JSON in production.
          prepared = Array.from({ length: order.messages }, (_, m) => {
            const seq = Math.floor(m / STATIONS)
            return {
              topic: stationTopic(order.site, `st-${m % STATIONS}`, 'telemetry'),
              payload: Buffer.from(JSON.stringify(sample(order.base + seq * 1_000, seq))),
            }
          })
          break
        case 'flat':
          await publishFlat(clients, prepared)
          prepared = []
          break
        case 'steady':
          report({ type: 'steady', ...(await publishSteady(clients, order.seconds, report)) })
          return
        case 'end':
          await Promise.all(clients.map((c) => c.endAsync()))
          break
      }
      report({ type: 'done' })
      if (order.type === 'end') process.disconnect()
    })().catch((err: unknown) => {
      console.error('publisher:', err)
      process.exit(1)
    })
  })
}

// ---- bench process ----------------------------------------------------------------------------------

async function influxQuery(url: string, db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`, { method: 'POST' })
  const body = (await res.json()) as { results: { error?: string; series?: { values: unknown[][] }[] }[] }
  if (body.results[0]?.error) throw new Error(body.results[0].error)
  return body.results[0]?.series?.[0]?.values ?? []
}

const count = async (url: string, db: string, q: string) =>
  Number((await influxQuery(url, db, q))[0]?.[1] ?? 0)

/** The line protocol ingest writes for `messages` telemetry messages of `site`, without MQTT. */
function rawLines(messages: number, site: string, base: number): string[] {
  const lines: string[] = []
  for (let m = 0; m < messages; m++) {
    const station = `st-${m % STATIONS}`
    const seq = Math.floor(m / STATIONS)
    const t = sample(base + seq * 1_000, seq)
    lines.push(
      `station,site=${site},station=${station} grid_power_w=${t.meter.grid_power_w},grid_energy_wh=${t.meter.grid_energy_wh},aux_power_w=2100,cabinet_temp_c=41.2 ${t.ts}`,
    )
    for (const c of t.connectors)
      lines.push(
        `connector,connector=${c.id},site=${site},station=${station} power_w=${c.power_w},offered_w=120000,voltage_v=768.2,current_a=145.8,energy_wh=${c.energy_wh},soc_pct=43.1,temp_c=62,coolant_c=38.4,status="Charging",occupied=1,in_service=1,seq=${seq}i ${t.ts}`,
      )
  }
  return lines
}

/**
 * 01:00 UTC `daysAgo` days ago. The raw policy keeps one shard per day, and each phase writes into a
 * day of its own: InfluxDB compacts a shard's files together, so a phase sharing a shard with an
 * earlier one would pay for compacting that one's data too.
 */
const shardOfDay = (daysAgo: number) =>
  (Math.floor(Date.now() / 86_400_000) - daysAgo) * 86_400_000 + 3_600_000

/** Points per second for one setting; each setting writes new series, as the end-to-end run does. */
async function rawRate(
  url: string,
  db: string,
  messages: number,
  site: string,
  base: number,
  setting: { batch: number; concurrency: number },
): Promise<number> {
  const lines = rawLines(messages, site, base)
  const batches: string[] = []
  for (let i = 0; i < lines.length; i += setting.batch)
    batches.push(lines.slice(i, i + setting.batch).join('\n'))
  const started = performance.now()
  let next = 0
  await Promise.all(
    Array.from({ length: setting.concurrency }, async () => {
      while (next < batches.length) {
        const body = batches[next++] as string
        const res = await fetch(`${url}/write?db=${db}&rp=raw&precision=ms`, { method: 'POST', body })
        if (res.status !== 204) throw new Error(`raw write: ${res.status} ${await res.text()}`)
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  const stored = await count(url, db, `SELECT count(power_w) FROM connector WHERE site = '${site}'`)
  if (stored !== messages * CONNECTORS)
    throw new Error(`raw: ${stored} connector points, expected ${messages * CONNECTORS}`)
  return lines.length / seconds
}

function spawnNode(entry: string, env: Record<string, string>, nodeArgs: string[], ipc = false) {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env: { ...process.env, EVMON_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit', ...(ipc ? (['ipc'] as const) : [])],
  })
}

/** Resolves with the child's output once it printed `marker`; rejects if it exits first. */
function started(child: ChildProcess, marker: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes(marker)) {
        child.stdout?.off('data', onData)
        child.stdout?.resume()
        child.off('exit', onExit)
        resolve(out)
      }
    }
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}): ${out}`))
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
  })
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** Tells the publisher process what to do; resolves with its first answer of `type`. */
function order<T extends Report['type']>(
  publisher: ChildProcess,
  o: Order,
  type: T,
): Promise<Extract<Report, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (r: Report) => {
      if (r.type !== type) return
      publisher.off('message', onMessage)
      publisher.off('exit', onExit)
      resolve(r as Extract<Report, { type: T }>)
    }
    const onExit = (code: number | null) => reject(new Error(`publisher exited (${code})`))
    publisher.on('message', onMessage)
    publisher.once('exit', onExit)
    publisher.send(o)
  })
}

/** CPU seconds (user + system) a process used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // After the command name: state is field 3, utime 14 and stime 15 (in clock ticks, 100 per second).
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const [, ...ticks] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] as string).trim().split(/\s+/)
  const values = ticks.map(Number)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  const total = values.reduce((a, b) => a + b, 0)
  return { busy: (total - idle) / 100, total: total / 100 }
}

/** The pid of our child called `comm` (influxd, started by test/support/influxd.ts). */
function childPid(comm: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid && stat.includes(`(${comm})`)) return Number(entry)
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no child process ${comm}`)
}

/** Measures the CPU each process uses between `begin()` and `end()`, as a share of one core. */
function cpuMeter(pids: Record<string, number>) {
  let before: Record<string, number> = {}
  let machine = machineCpu()
  let t0 = 0
  return {
    begin() {
      before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]))
      machine = machineCpu()
      t0 = performance.now()
    },
    end(): string {
      const wall = (performance.now() - t0) / 1000
      let ours = 0
      const parts = Object.entries(pids).map(([k, pid]) => {
        const share = (100 * (cpuSeconds(pid) - (before[k] ?? 0))) / wall
        ours += share
        return `${k} ${Math.round(share)}%`
      })
      const now = machineCpu()
      const cores = (now.total - machine.total) / wall
      const busy = (100 * (now.busy - machine.busy)) / wall
      // Whatever else ran meanwhile (other people's work, the kernel's own threads) shows up here.
      return `${parts.join(', ')} of one core; everything else ${Math.max(0, Math.round(busy - ours))}%; machine ${Math.round(busy / cores)}% busy (${Math.round(cores)} cores)`
    },
  }
}

/** Ingest's `points_written_total`: cheap to poll, unlike a count() over the data in InfluxDB. */
async function pointsWritten(statusUrl: string): Promise<number> {
  const text = await (await fetch(`${statusUrl}/metrics`)).text()
  return Number(/^evmon_ingest_points_written_total (\d+)/m.exec(text)?.[1] ?? NaN)
}

/**
 * Waits until influxd is done with what the previous phase left (cache snapshots, compactions): each
 * phase starts with an idle server, so none pays for another's writes.
 */
async function settle(influxdPid: number): Promise<number> {
  const deadline = Date.now() + 60_000
  const start = cpuSeconds(influxdPid)
  for (let before = start; Date.now() < deadline;) {
    await sleep(1_000)
    const now = cpuSeconds(influxdPid)
    if (now - before < 0.05) return now - start
    before = now
  }
  return cpuSeconds(influxdPid) - start
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
 * The publisher sends 2,500 stations once a second with ts = now, and reports each probe sample.
 * Probe points are polled every 25 ms; a sample's latency is when its point first showed up in a query.
 */
async function steadyRate(publisher: ChildProcess, url: string, db: string, seconds: number) {
  const latencies: number[] = []
  const pending = new Map<string, number>()
  const onProbe = (r: Report) => {
    if (r.type === 'probe') pending.set(r.key, r.ts)
  }
  publisher.on('message', onProbe)
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
  const done = await order(publisher, { type: 'steady', seconds }, 'steady')
  publisher.off('message', onProbe)
  const deadline = Date.now() + 30_000
  while (pending.size > 0 && Date.now() < deadline) await sleep(50)
  publishing = false
  pending.clear()
  await poller
  await waitForCount(url, db, 'probe', done.probes * CONNECTORS, 30_000)
  await waitForCount(url, db, 'live', (done.published - done.probes) * CONNECTORS, 30_000)
  latencies.sort((a, b) => a - b)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
  return {
    connectorsPerS: (done.published * CONNECTORS) / done.seconds,
    p50: q(0.5),
    p99: q(0.99),
    samples: latencies.length,
    probes: done.probes,
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en')

export default async function ingestBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      messages: { type: 'string', default: '60000' },
      seconds: { type: 'string', default: '20' },
      // Writes CPU profiles of broker and ingest (node --cpu-prof) into this directory.
      profile: { type: 'string' },
      // Ingest's write settings; the raw ceiling tries them too.
      batch: { type: 'string', default: String(INGEST_BATCH_POINTS) },
      concurrency: { type: 'string', default: String(INGEST_CONCURRENCY) },
      // Rounds of (raw ceiling, end to end); the median ratio is reported.
      rounds: { type: 'string', default: '3' },
      // Where the broker keeps ingest's session and queue.
      persistence: { type: 'string', default: 'redis' },
    },
  })
  const persistence = values.persistence
  if (persistence !== 'redis' && persistence !== 'memory')
    throw new Error('--persistence must be redis or memory')
  const messages = Number(values.messages)
  const seconds = Number(values.seconds)
  const rounds = Number(values.rounds)
  // Every run writes into a day of its own within the raw policy's 30 days (see shardOfDay).
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) throw new Error('--rounds must be 1 to 10')
  const ingestWrites = { batch: Number(values.batch), concurrency: Number(values.concurrency) }
  const rawSettings = RAW_SETTINGS.some(
    (r) => r.batch === ingestWrites.batch && r.concurrency === ingestWrites.concurrency,
  )
    ? RAW_SETTINGS
    : [...RAW_SETTINGS, ingestWrites]
  const prof = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : []
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-ingest-'))
  const db = 'bench'
  // The figures are CPU-bound on 2 cores: other work on the machine shows up in them directly.
  const load = () => loadavg()[0]?.toFixed(1)
  console.log(`load average (1 min) at start: ${load()}`)
  let broker: ChildProcess | undefined
  let ingest: ChildProcess | undefined
  let publisher: ChildProcess | undefined
  const influx = await startInfluxd({ dir: join(dir, 'influx'), port: 0 })
  const redis = persistence === 'redis' ? await startRedis({ dir: join(dir, 'redis') }) : null
  console.log(`broker persistence: ${redis ? 'Redis (append-only file, fsync every second)' : 'memory'}`)
  try {
    // Credentials as `npm start` makes them: one account per service, the broker gets the hashes.
    const credentialsFile = join(dir, 'credentials.json')
    const credentials = Credentials.empty()
    const secrets = {
      ingest: await credentials.issue('ingest'),
      simulator: await credentials.issue('simulator'),
    }
    credentials.save(credentialsFile)
    const [mqttPort, wsPort, metricsPort] = (await freePorts(3)).map(String) as [string, string, string]
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    broker = spawnNode(
      'broker/src/main.ts',
      {
        EVMON_MQTT_PORT: mqttPort,
        EVMON_MQTT_WS_PORT: wsPort,
        EVMON_BROKER_METRICS_PORT: metricsPort,
        EVMON_BROKER_CREDENTIALS: credentialsFile,
        ...(redis ? { EVMON_REDIS_URL: redis.url } : {}),
      },
      prof,
    )
    broker.stdout?.resume()
    await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, 30_000, 'broker')
    ingest = spawnNode(
      'ingest/src/main.ts',
      {
        EVMON_MQTT_URL: mqttUrl,
        EVMON_MQTT_USERNAME: 'ingest',
        EVMON_MQTT_PASSWORD: secrets.ingest,
        EVMON_INFLUX_URL: influx.url,
        EVMON_INFLUX_DB: db,
        EVMON_INGEST_CLIENT_ID: 'evmon-ingest-bench',
        EVMON_INGEST_SPOOL_DIR: join(dir, 'spool'),
        EVMON_INGEST_DEAD_LETTER: join(dir, 'dead-letter.ndjson'),
        EVMON_INGEST_METRICS_PORT: '0',
        EVMON_INGEST_BATCH_SIZE: String(ingestWrites.batch),
        EVMON_INGEST_MAX_CONCURRENT_WRITES: String(ingestWrites.concurrency),
        EVMON_LOG_LEVEL: 'info',
      },
      prof,
    )
    const startLog = await started(ingest, '"ingest started"', 'ingest')
    const statusUrl = /"status":"(http:[^"]+)"/.exec(startLog)?.[1] as string
    publisher = spawnNode(SELF, {}, [], true)
    await order(
      publisher,
      { type: 'connect', url: mqttUrl, username: 'simulator', password: secrets.simulator },
      'done',
    )

    // The schema (raw policy) exists now that ingest started: the ceiling writes where ingest writes.
    const influxdPid = childPid('influxd')
    const cpu = cpuMeter({
      publisher: publisher.pid as number,
      broker: broker.pid as number,
      ingest: ingest.pid as number,
      influxd: influxdPid,
      bench: process.pid,
    })
    const rates = []
    for (const [i, setting] of rawSettings.entries()) {
      cpu.begin()
      const rate = await rawRate(influx.url, db, messages, `raw-${i}`, shardOfDay(i + 2), setting)
      const usage = cpu.end()
      rates.push({ ...setting, rate, usage, after: await settle(influxdPid) })
    }
    const best = rates.reduce((a, b) => (b.rate > a.rate ? b : a))
    console.log(
      `(a) raw ceiling, round 1: ${fmt(best.rate)} points/s (${fmt(messages * POINTS_PER_MESSAGE)} points, ${best.batch}-line batches, ${best.concurrency} at a time; best of ${rates.map((r) => `${r.batch}×${r.concurrency} ${fmt(r.rate)}`).join(', ')})`,
    )
    console.log(
      `    CPU during the best: ${best.usage}; influxd's background work after its last write: ${best.after.toFixed(1)} CPU-s`,
    )

    // InfluxDB's own speed swings by 10-20 % from one write burst to the next on this machine, so the
    // ratio is measured in rounds: each pairs an end-to-end run with a raw run at the best setting
    // (round 1 with the sweep above), every run into a day of its own; the median round is the result.
    const ratios: number[] = []
    for (let round = 1; round <= rounds; round++) {
      let ceiling = best.rate
      if (round > 1) {
        cpu.begin()
        ceiling = await rawRate(influx.url, db, messages, `raw-r${round}`, shardOfDay(8 + 2 * round), best)
        const usage = cpu.end()
        const after = await settle(influxdPid)
        console.log(
          `(a) raw ceiling, round ${round}: ${fmt(ceiling)} points/s (${best.batch}×${best.concurrency}); CPU: ${usage}; influxd's background work after its last write: ${after.toFixed(1)} CPU-s`,
        )
      }
      const site = `flat-${round}`
      await order(publisher, { type: 'prepare', messages, site, base: shardOfDay(9 + 2 * round) }, 'done')
      await settle(influxdPid)
      const writtenBefore = await pointsWritten(statusUrl)
      cpu.begin()
      const t0 = performance.now()
      await order(publisher, { type: 'flat' }, 'done')
      // Polling count() every 50 ms would cost influxd a core of its own: wait for ingest to report
      // every point written (InfluxDB answered 204, so it is queryable): the clock stops there, as it
      // does for the raw ceiling at its last 204. Then the same count() verifies the points are there.
      while ((await pointsWritten(statusUrl)) - writtenBefore < messages * POINTS_PER_MESSAGE) await sleep(20)
      const e2e = (messages * POINTS_PER_MESSAGE) / ((performance.now() - t0) / 1000)
      const usage = cpu.end()
      await waitForCount(influx.url, db, site, messages * CONNECTORS, 0)
      const after = await settle(influxdPid)
      ratios.push(e2e / ceiling)
      console.log(
        `(b) end to end, round ${round}: ${fmt(e2e)} points/s = ${fmt(e2e / POINTS_PER_MESSAGE)} msg/s = ${fmt((e2e / POINTS_PER_MESSAGE) * CONNECTORS)} connectors/s, every point counted; ${((100 * e2e) / ceiling).toFixed(1)}% of this round's raw ceiling (ingest: ${ingestWrites.batch}-point batches, ${ingestWrites.concurrency} at a time)`,
      )
      console.log(
        `    CPU during (b): ${usage}; influxd's background work after its last write: ${after.toFixed(1)} CPU-s`,
      )
    }
    const sorted = [...ratios].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] as number
    console.log(
      `end to end / raw ceiling: median ${(100 * median).toFixed(1)}% of ${rounds} rounds (${ratios.map((r) => `${(100 * r).toFixed(1)}%`).join(', ')})`,
    )

    cpu.begin()
    const steady = await steadyRate(publisher, influx.url, db, seconds)
    console.log(
      `(c) steady ${fmt(steady.connectorsPerS)} connectors/s for ${seconds} s: sample time → queryable p50 ${steady.p50} ms, p99 ${steady.p99} ms (${steady.samples} of ${steady.probes} probe samples), every point counted`,
    )
    console.log(`    CPU during (c): ${cpu.end()}`)
    console.log(`load average (1 min) at end: ${load()}`)
  } finally {
    if (publisher?.connected) await order(publisher, { type: 'end' }, 'done').catch(() => undefined)
    await stop(publisher)
    await stop(ingest)
    await stop(broker)
    await redis?.stop()
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === SELF) publisherMain()
