// The OCPP gateway at scale: N chargers (OCPP 1.6J, ocpp-rpc clients spread over several child
// processes) connected to the gateway (its own process) at once, each sending MeterValues every
// `interval` seconds, with the broker in a process of its own too. Reported: connections held at the
// end, OCPP frames and MQTT messages per second, frame→MQTT latency (from the frame's send time, carried
// as the reading's time stamp, to the first telemetry on MQTT that carries the reading) and the
// gateway's memory per connection (the growth of its resident memory from N/2 to N chargers).
// Goal: all 10,000 held, p99 < 1 s, < 50 KB per connection.
// Usage: npm run bench -- gateway [--chargers 10000] [--interval 10] [--duration 60] [--sample-ms 1000]
//   [--connects-per-second 500] [--client-processes ⌈N/2,500⌉]
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import type { Telemetry } from '@evmon/contracts'
import { newSecret, type ScryptParams } from '@evmon/runtime'
import { freePorts } from '../test/support/ports.ts'
import type { ChargersReport, ChargersSpec } from './lib-ocpp-chargers.ts'
import { cpuMeter, metric, percentile } from './lib-measure.ts'

const repoRoot = join(import.meta.dirname, '..')
// The bench's chargers file uses a cheap scrypt so that 10,000 accounts are made and checked in
// seconds; production's (N = 16,384, ≈30 ms per check) costs only at connect time, which is not measured.
const BENCH_SCRYPT: ScryptParams = { N: 1024, r: 8, p: 1, keylen: 32 }
const CONNECTIONS_PER_SOURCE = 20_000 // of ≈28,000 ephemeral ports per source address

/** The hard limit on open files: what a child may raise its soft limit to. */
function hardFdLimit(): number {
  const text = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()
  return text === 'unlimited' ? 1_048_576 : Number(text)
}

/**
 * A node process started through sh, so it can raise its own open-file limit first; `exec` keeps the
 * pid (the process measured is node itself) and the IPC channel of a bench helper.
 */
function node(entry: string, env: Record<string, string>, fdLimit: number, ipc = false): ChildProcess {
  return spawn('sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" --import tsx "$1"`, process.execPath, entry], {
    cwd: repoRoot,
    env: { ...process.env, EVMON_LOG_LEVEL: 'warn', ...env },
    stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
  })
}

async function healthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      if ((await fetch(url)).ok) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** Resident memory of a process, bytes (Linux). */
function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'))
  return Number(line?.split(/\s+/)[1]) * 1024
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Waits `ms` under load, then returns the process's mean resident memory over `windowS` more seconds
 * (read every second): one reading may fall just before or after a garbage collection.
 */
async function steadyRss(pid: number, ms: number, windowS = 5): Promise<number> {
  await sleep(ms)
  let sum = 0
  for (let i = 0; i < windowS; i++) {
    await sleep(1000)
    sum += rssBytes(pid)
  }
  return sum / windowS
}

export default async function gatewayBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      chargers: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '10' },
      duration: { type: 'string', default: '60' },
      'sample-ms': { type: 'string', default: '1000' },
      'connects-per-second': { type: 'string', default: '500' },
      'client-processes': { type: 'string' },
    },
  })
  const n = Number(values.chargers)
  const processes = Number(values['client-processes'] ?? Math.max(1, Math.ceil(n / 2_500)))
  const intervalS = Number(values.interval)
  const durationS = Number(values.duration)
  const fdLimit = Math.min(hardFdLimit(), 1_048_576)
  const needed = n + 1_000
  if (fdLimit < needed)
    throw new Error(
      `open-file hard limit ${fdLimit} is below the ${needed} this run needs (raise it with ulimit -Hn)`,
    )
  const sources = Math.max(1, Math.ceil(n / CONNECTIONS_PER_SOURCE))
  console.log(
    `gateway bench: ${n} chargers, MeterValues every ${intervalS} s, ${durationS} s measured, ` +
      `telemetry period ${values['sample-ms']} ms, ${processes} charger process(es), ` +
      `${sources} source address(es), open files up to ${fdLimit}`,
  )

  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-gateway-'))
  const children: ChildProcess[] = []
  try {
    // Accounts: a chargers file for the gateway, the passwords for the chargers.
    const passwords: Record<string, string> = {}
    const chargers = []
    for (let i = 0; i < n; i++) {
      const identity = `BENCH-${String(i).padStart(5, '0')}`
      const { secret, salt, hash } = await newSecret(BENCH_SCRYPT)
      passwords[identity] = secret
      chargers.push({ site: 'bench', identity, station: identity.toLowerCase(), salt, hash })
    }
    const chargersFile = join(dir, 'chargers.json')
    writeFileSync(chargersFile, JSON.stringify({ version: 1, scrypt: BENCH_SCRYPT, chargers }), {
      mode: 0o600,
    })

    const [mqttPort, wsPort, brokerMetrics, gatewayPort] = await freePorts(4)
    const broker = node(
      'broker/src/main.ts',
      {
        EVMON_BROKER_ALLOW_ANONYMOUS: 'true',
        EVMON_MQTT_PORT: String(mqttPort),
        EVMON_MQTT_WS_PORT: String(wsPort),
        EVMON_BROKER_METRICS_PORT: String(brokerMetrics),
      },
      fdLimit,
    )
    children.push(broker)
    await healthy(`http://127.0.0.1:${brokerMetrics}/healthz`, 30_000)
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    const gateway = node(
      'gateway/src/main.ts',
      {
        EVMON_MQTT_URL: mqttUrl,
        EVMON_GATEWAY_PORT: String(gatewayPort),
        EVMON_GATEWAY_CHARGERS: chargersFile,
        EVMON_GATEWAY_STATE: join(dir, 'state.json'),
        EVMON_SAMPLE_INTERVAL_MS: values['sample-ms'],
      },
      fdLimit,
    )
    children.push(gateway)
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`
    await healthy(`${gatewayUrl}/healthz`, 60_000)
    // sh exec'd node: the pid is the gateway's own.
    const gatewayPid = gateway.pid as number
    const rssIdle = await steadyRss(gatewayPid, 0, 3)

    // The subscriber: the first telemetry carrying each reading gives that reading's latency. At
    // 10,000 chargers it takes 10,000 messages a second, so it only parses them: the gateway has
    // checked each against the contract before publishing.
    const latencies: number[] = []
    let telemetryMessages = 0
    let measuring = false
    const seen = new Map<string, number>()
    const subscriber = await mqtt.connectAsync(mqttUrl, { clientId: `bench-gateway-sub-${process.pid}` })
    subscriber.on('message', (topic, payload) => {
      const now = Date.now()
      if (measuring) telemetryMessages++
      const station = topic.split('/')[3] as string
      const t = JSON.parse(payload.toString()) as Telemetry
      const c = t.connectors[0]
      if (c?.energy_wh === undefined) return
      if ((seen.get(station) ?? -1) >= c.energy_wh) return
      seen.set(station, c.energy_wh)
      if (measuring) latencies.push(now - (c.measured_at ?? t.ts))
    })
    await subscriber.subscribeAsync('evmon/v1/bench/+/telemetry', { qos: 0 })

    // The chargers, dealt round-robin to the processes; each connects its share at its share of the rate.
    const connectsPerSecond = Number(values['connects-per-second'])
    const identities = Object.entries(passwords)
    const shares = Array.from({ length: processes }, (_, p) =>
      identities.filter((_, i) => i % processes === p),
    )
    const loads = shares.map((mine) => {
      const spec: ChargersSpec = {
        endpoint: `ws://127.0.0.1:${gatewayPort}/ocpp/bench`,
        passwords: Object.fromEntries(mine),
        intervalS,
        sources,
        connectsPerSecond: connectsPerSecond / processes,
        firstStep: Math.floor(mine.length / 2),
      }
      const child = node(join(import.meta.dirname, 'lib-ocpp-chargers.ts'), {}, fdLimit, true)
      child.send(spec)
      children.push(child)
      return child
    })
    const reports = new Map<ChildProcess, ChargersReport>()
    for (const child of loads) child.on('message', (m) => reports.set(child, m as ChargersReport))
    const report = (): ChargersReport => {
      const all = [...reports.values()]
      const sum = (k: 'connected' | 'open' | 'sent' | 'answered' | 'failed') =>
        all.reduce((s, r) => s + r[k], 0)
      return {
        connected: sum('connected'),
        open: sum('open'),
        sent: sum('sent'),
        answered: sum('answered'),
        failed: sum('failed'),
        errors: [...new Set(all.flatMap((r) => r.errors))].slice(0, 10),
      }
    }
    /** Waits until `count` chargers have connected or failed; returns how many connected. */
    const connectedUpTo = async (count: number) => {
      const deadline = Date.now() + (count / connectsPerSecond) * 3000 + 30_000
      while (report().connected + report().failed < count && Date.now() < deadline) await sleep(1000)
      return report().connected
    }

    // Memory per connection is what N/2 more chargers add, each step measured after one interval of
    // MeterValues: the gateway's start-up cost and its load-independent heap are not divided into it.
    const firstStep = shares.reduce((s, share) => s + Math.floor(share.length / 2), 0)
    const connectedHalf = await connectedUpTo(firstStep)
    console.log(`connected ${connectedHalf}/${firstStep} (first step) — one interval under load`)
    const rssHalf = await steadyRss(gatewayPid, intervalS * 1000)
    for (const child of loads) child.send('more')
    const connectedFull = await connectedUpTo(n)
    console.log(`connected ${connectedFull}/${n} (${report().failed} failures) — one interval under load`)
    const rssFull = await steadyRss(gatewayPid, intervalS * 1000)

    const cpu = cpuMeter({
      gateway: gatewayPid,
      broker: broker.pid as number,
      ...Object.fromEntries(loads.map((l, i) => [`chargers${i + 1}`, l.pid as number])),
    })
    const sentBefore = report().answered
    measuring = true
    const started = performance.now()
    await sleep(durationS * 1000)
    measuring = false
    const elapsedS = (performance.now() - started) / 1000
    const cpuUse = cpu()
    const end = report()
    const framesPerS = (end.answered - sentBefore) / elapsedS
    const held = await metric(`${gatewayUrl}/metrics`, 'evmon_gateway_chargers_connected')
    // A broker that cannot keep up fills the gateway's capped publish queue, which then holds chargers back.
    const queued = await metric(`${gatewayUrl}/metrics`, 'evmon_gateway_mqtt_queued')
    const heldBack = await metric(`${gatewayUrl}/metrics`, 'evmon_gateway_held_back_total')
    const dropped = await metric(`${gatewayUrl}/metrics`, 'evmon_gateway_publish_dropped_total')
    await Promise.all(
      loads.map((l) => {
        const exited = new Promise<void>((resolve) => l.once('exit', () => resolve()))
        l.send('stop')
        return exited
      }),
    )
    await subscriber.endAsync()

    const perConnectionKb = (rssFull - rssHalf) / Math.max(1, connectedFull - connectedHalf) / 1024
    const p50 = percentile(latencies, 50)
    const p99 = percentile(latencies, 99)
    // 60,000 readings in a 60 s window at 10,000 chargers: too many to spread into Math.max's arguments.
    const max = latencies.length ? latencies.reduce((m, l) => Math.max(m, l), -Infinity) : Number.NaN
    const mqttPerS = telemetryMessages / elapsedS
    console.log(
      [
        `connections held at the end: ${held} (gateway) / ${end.open} open (chargers) of ${n}`,
        `OCPP MeterValues answered: ${framesPerS.toFixed(0)}/s; telemetry on MQTT: ${mqttPerS.toFixed(0)}/s`,
        `frame→MQTT latency: p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (${latencies.length} readings)`,
        `gateway resident memory: ${mb(rssIdle)} idle, ${mb(rssHalf)} with ${connectedHalf} chargers, ` +
          `${mb(rssFull)} with ${connectedFull}: ${perConnectionKb.toFixed(1)} KB per connection ` +
          `(from ${connectedHalf} to ${connectedFull}; ${((rssFull - rssIdle) / Math.max(1, connectedFull) / 1024).toFixed(1)} KB counted from idle)`,
        `CPU (% of one core): ${JSON.stringify(cpuUse)}`,
        `gateway publishes unacknowledged at the end: ${queued}; calls held back (broker backlog full): ${heldBack || 0}; publishes dropped: ${dropped || 0}`,
        ...(end.errors.length > 0 ? [`charger errors: ${end.errors.join('; ')}`] : []),
      ].join('\n'),
    )
    const pass = held === n && p99 < 1000 && perConnectionKb < 50
    console.log(
      `RESULT gateway chargers=${n} held=${held} frames_per_s=${framesPerS.toFixed(0)} ` +
        `mqtt_per_s=${mqttPerS.toFixed(0)} p50_ms=${p50} p99_ms=${p99} ` +
        `kb_per_connection=${perConnectionKb.toFixed(1)} goal=${pass ? 'met' : 'missed'}`,
    )
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode === null) child.kill('SIGTERM')
    }
    rmSync(dir, { recursive: true, force: true })
  }
}
