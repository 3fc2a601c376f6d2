// The OCPP gateway at scale: N chargers (OCPP 1.6J, ocpp-rpc clients in a child process) connected
// to the gateway (its own process) at once, each sending MeterValues every `interval` seconds, with
// the broker in a third process. Reported: connections held at the end, OCPP frames and MQTT messages
// per second, frame→MQTT latency (from the frame's send time, carried as the reading's time stamp, to
// the first telemetry on MQTT that carries the reading) and the gateway's memory per connection.
// Goal: all 10,000 held, p99 < 1 s, < 50 KB per connection.
// Usage: npm run bench -- gateway [--chargers 10000] [--interval 10] [--duration 60] [--sample-ms 1000]
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import mqtt from 'mqtt'
import { decodeMessage } from '@evmon/contracts'
import { newSecret, type ScryptParams } from '@evmon/runtime'
import { freePorts } from '../scripts/ports.ts'
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

/** A service started through sh, so it can raise its own open-file limit first. */
function service(entry: string, env: Record<string, string>, fdLimit: number): ChildProcess {
  const child = spawn(
    'sh',
    ['-c', `ulimit -n ${fdLimit} && exec "$0" --import tsx "$1"`, process.execPath, entry],
    {
      cwd: repoRoot,
      env: { ...process.env, EVMON_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  )
  return child
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

export default async function gatewayBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      chargers: { type: 'string', default: '10000' },
      interval: { type: 'string', default: '10' },
      duration: { type: 'string', default: '60' },
      'sample-ms': { type: 'string', default: '1000' },
      'connects-per-second': { type: 'string', default: '500' },
    },
  })
  const n = Number(values.chargers)
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
      `telemetry period ${values['sample-ms']} ms, ${sources} source address(es), open files up to ${fdLimit}`,
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
    const broker = service(
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
    const gateway = service(
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
    await new Promise((r) => setTimeout(r, 1000))
    const rssBefore = rssBytes(gatewayPid)

    // The subscriber: the first telemetry carrying each reading gives that reading's latency.
    const latencies: number[] = []
    let telemetryMessages = 0
    let measuring = false
    const seen = new Map<string, number>()
    const subscriber = await mqtt.connectAsync(mqttUrl, { clientId: `bench-gateway-sub-${process.pid}` })
    subscriber.on('message', (topic, payload) => {
      const now = Date.now()
      const decoded = decodeMessage(topic, payload, now)
      if (!decoded.ok || decoded.message.kind !== 'telemetry') return
      if (measuring) telemetryMessages++
      const t = decoded.message.payload
      const c = t.connectors[0]
      if (c?.energy_wh === undefined) return
      if ((seen.get(decoded.message.station) ?? -1) >= c.energy_wh) return
      seen.set(decoded.message.station, c.energy_wh)
      if (measuring) latencies.push(now - (c.measured_at ?? t.ts))
    })
    await subscriber.subscribeAsync('evmon/v1/bench/+/telemetry', { qos: 0 })

    const spec: ChargersSpec = {
      endpoint: `ws://127.0.0.1:${gatewayPort}/ocpp/bench`,
      passwords,
      intervalS,
      sources,
      connectsPerSecond: Number(values['connects-per-second']),
    }
    const load = fork(join(import.meta.dirname, 'lib-ocpp-chargers.ts'), [JSON.stringify(spec)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.push(load)
    let report: ChargersReport = { connected: 0, open: 0, sent: 0, answered: 0, failed: 0, errors: [] }
    load.on('message', (m) => (report = m as ChargersReport))
    const connectDeadline = Date.now() + (n / spec.connectsPerSecond) * 1000 * 3 + 30_000
    while (report.connected + report.failed < n && Date.now() < connectDeadline) {
      await new Promise((r) => setTimeout(r, 1000))
    }
    console.log(
      `connected ${report.connected}/${n} (${report.failed} failures) — warming up for one interval`,
    )
    await new Promise((r) => setTimeout(r, intervalS * 1000))

    const rssConnected = rssBytes(gatewayPid)
    const cpu = cpuMeter({ gateway: gatewayPid, broker: broker.pid as number, chargers: load.pid as number })
    const sentBefore = report.answered
    measuring = true
    const started = performance.now()
    await new Promise((r) => setTimeout(r, durationS * 1000))
    measuring = false
    const elapsedS = (performance.now() - started) / 1000
    const cpuUse = cpu()
    const framesPerS = (report.answered - sentBefore) / elapsedS
    const held = await metric(`${gatewayUrl}/metrics`, 'evmon_gateway_chargers_connected')
    const openAtEnd = report.open
    load.send('stop')
    await new Promise<void>((resolve) => load.once('exit', () => resolve()))
    await subscriber.endAsync()

    const perConnectionKb = (rssConnected - rssBefore) / Math.max(1, report.connected) / 1024
    const p50 = percentile(latencies, 50)
    const p99 = percentile(latencies, 99)
    console.log(
      [
        `connections held at the end: ${held} (gateway) / ${openAtEnd} open (chargers) of ${n}`,
        `OCPP MeterValues answered: ${framesPerS.toFixed(0)}/s; telemetry on MQTT: ${(telemetryMessages / elapsedS).toFixed(0)}/s`,
        `frame→MQTT latency: p50 ${p50} ms, p99 ${p99} ms, max ${latencies.length ? Math.max(...latencies) : NaN} ms (${latencies.length} readings)`,
        `gateway memory: ${(rssBefore / 1048576).toFixed(1)} MB idle, ${(rssConnected / 1048576).toFixed(1)} MB connected: ${perConnectionKb.toFixed(1)} KB per connection`,
        `CPU (% of one core): ${JSON.stringify(cpuUse)}`,
        ...(report.errors.length > 0 ? [`charger errors: ${report.errors.join('; ')}`] : []),
      ].join('\n'),
    )
    const pass = held === n && p99 < 1000 && perConnectionKb < 50
    console.log(
      `RESULT gateway chargers=${n} held=${held} frames_per_s=${framesPerS.toFixed(0)} p99_ms=${p99} ` +
        `kb_per_connection=${perConnectionKb.toFixed(1)} goal=${pass ? 'met' : 'missed'}`,
    )
  } finally {
    for (const child of children.reverse()) {
      if (child.exitCode === null) child.kill('SIGTERM')
    }
    rmSync(dir, { recursive: true, force: true })
  }
}
