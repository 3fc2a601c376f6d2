// Simulator throughput: connector samples generated per second (dry run, no I/O), published per
// second to an in-process broker (backfill mode: as fast as PUBACKs come back), and CPU + memory of
// a scale-mode run of ~50,000 connectors at 1 Hz in real time: the simulator in a child process
// publishing to a broker in another (mosquitto, then our aedes broker), so the CPU read from /proc is
// the simulator's alone. Loopback only; stops by itself and kills what it started.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo } from 'node:net'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Credentials, start as startBroker } from '@evmon/broker'
import {
  createSite,
  loadSiteConfig,
  parseConfig,
  scaleSite,
  start as startSimulator,
  toNdjsonLine,
  type ParsedConfig,
} from '@evmon/simulator'

const repoRoot = fileURLToPath(new URL('..', import.meta.url))
const START = Date.parse('2025-07-15T08:00:00+08:00')
const CLOCK_TICKS_PER_S = 100 // Linux USER_HZ: /proc/<pid>/stat counts CPU time in these
const MOSQUITTO = '/usr/sbin/mosquitto'
// Connecting 12,500 stations at 2,000/s, each authenticated once: minutes, not seconds, on aedes.
const WARM_UP_LIMIT_MS = 300_000

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}

function runConfig(argv: string[]): ParsedConfig & { kind: 'run' } {
  const parsed = parseConfig(argv, {})
  if (parsed.kind !== 'run') throw new Error(`bad bench config: ${JSON.stringify(parsed)}`)
  return parsed
}

// Generation alone: the model's step(), plus the NDJSON serialisation a dry run adds.
function generation(
  stations: number,
  steps: number,
): { samples: number; sampleRate: number; ndjsonRate: number } {
  const base = loadSiteConfig(`${repoRoot}config/sites/beibei.json`)
  const site = createSite(scaleSite(base, stations), 1, START)
  for (let i = 0; i < 30; i++) site.step() // warm-up: JIT and the first arrivals
  let started = performance.now()
  for (let i = 0; i < steps; i++) site.step()
  const sampleRate = (steps * site.connectorCount) / ((performance.now() - started) / 1000)
  started = performance.now()
  let bytes = 0
  for (let i = 0; i < steps; i++) for (const m of site.step()) bytes += toNdjsonLine(m).length
  const ndjsonRate = (steps * site.connectorCount) / ((performance.now() - started) / 1000)
  if (bytes === 0) throw new Error('nothing serialised')
  return { samples: steps * site.connectorCount, sampleRate, ndjsonRate }
}

// Publishing: a backfill of `seconds` simulated seconds of `stations` stations to a local broker.
async function publishing(
  stations: number,
  seconds: number,
): Promise<{ messageRate: number; sampleRate: number }> {
  const broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    log: () => {},
  })
  const { config } = runConfig([
    '--url',
    broker.mqttUrl,
    '--backfill',
    `${seconds}s`,
    '--scale',
    String(stations),
    '--state',
    'off',
    '--port',
    '0',
  ])
  const started = performance.now()
  const sim = await startSimulator(config, { log: { info: () => {}, warn: () => {} }, progress: () => {} })
  await sim.done
  const metrics = await (await fetch(`http://127.0.0.1:${sim.port}/metrics`)).text()
  const elapsedS = (performance.now() - started) / 1000
  await sim.close()
  await broker.close()
  const acknowledged = Number(/^evmon_sim_messages_acknowledged_total (\d+)/m.exec(metrics)?.[1] ?? 0)
  return { messageRate: acknowledged / elapsedS, sampleRate: (seconds * sim.site.connectorCount) / elapsedS }
}

function procStat(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S // utime + stime
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return { cpuS, rssMb: Number(rss) / 1024 }
}

async function metric(port: number, name: string): Promise<number> {
  // A fresh connection per scrape: a kept-alive one may be closed by the server just as it is reused.
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { connection: 'close' } })
      const text = await response.text()
      return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN)
    } catch (err) {
      if (attempt >= 3) throw err
      await new Promise((r) => setTimeout(r, 500))
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits (at most 10 s) for the simulation to advance a step: the step count then, and when. */
async function nextStep(port: number): Promise<{ steps: number; at: number }> {
  const from = await metric(port, 'evmon_sim_steps_total')
  const deadline = performance.now() + 10_000
  for (;;) {
    await sleep(20)
    const steps = await metric(port, 'evmon_sim_steps_total')
    if (steps > from || performance.now() > deadline) return { steps, at: performance.now() }
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Resolves once `ready()` does, or throws if the child exits or `timeoutMs` passes first. */
async function waitFor(what: string, child: ChildProcess, ready: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`)
    if (await ready().catch(() => false)) return
    await sleep(200)
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`)
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.end()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

/** An MQTT broker in its own process, for the scale run to publish to. */
interface Sink {
  label: string
  url: string
  child: ChildProcess
  /** The simulator's MQTT account on it, as environment variables. */
  account: Record<string, string>
}

// Debian's mosquitto, anonymous, no persistence: a C broker that acknowledges QoS 1 cheaply.
async function mosquitto(dir: string): Promise<Sink> {
  const port = await freePort()
  const conf = join(dir, 'mosquitto.conf')
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n`)
  // `mosquitto -h` prints its version and exits with status 3.
  const version = /version (\S+)/.exec(spawnSync(MOSQUITTO, ['-h'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] })
  await waitFor('mosquitto', child, () => accepts(port), 10_000)
  return { label: `mosquitto ${version}`, url: `mqtt://127.0.0.1:${port}`, child, account: {} }
}

// Our aedes broker in its own process, as `npm start` runs it: authenticating the simulator's service
// account (scrypt, once per connection) and checking its ACL on every publish — or, to see what aedes
// itself carries, anonymous (EVMON_BROKER_ALLOW_ANONYMOUS: no authentication, no ACL).
async function aedes(dir: string, anonymous: boolean): Promise<Sink> {
  const account: Record<string, string> = {}
  const security: Record<string, string> = { EVMON_BROKER_ALLOW_ANONYMOUS: 'true' }
  if (!anonymous) {
    const credentials = Credentials.empty()
    Object.assign(account, {
      EVMON_MQTT_USERNAME: 'simulator',
      EVMON_MQTT_PASSWORD: await credentials.issue('simulator'),
    })
    const file = join(dir, 'credentials.json')
    credentials.save(file)
    Object.assign(security, { EVMON_BROKER_ALLOW_ANONYMOUS: 'false', EVMON_BROKER_CREDENTIALS: file })
  }
  const [mqttPort, wsPort, metricsPort] = [await freePort(), await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      EVMON_BROKER_HOST: '127.0.0.1',
      EVMON_MQTT_PORT: String(mqttPort),
      EVMON_MQTT_WS_PORT: String(wsPort),
      EVMON_BROKER_METRICS_PORT: String(metricsPort),
      EVMON_LOG_LEVEL: 'warn',
      ...security,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const healthy = async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok
  await waitFor('aedes broker', child, healthy, 30_000)
  return {
    label: `aedes (broker/src/main.ts, ${anonymous ? 'anonymous' : 'authenticated'})`,
    url: `mqtt://127.0.0.1:${mqttPort}`,
    child,
    account,
  }
}

const SINKS = {
  mosquitto,
  aedes: (dir: string) => aedes(dir, false),
  'aedes-anonymous': (dir: string) => aedes(dir, true),
} as const

// Scale mode in real time, in a child process exactly as `npm run sim -- --scale N` runs it, publishing
// to a broker in a third process: the CPU and memory read from /proc are the simulator's alone.
async function scale(
  connectorsWanted: number,
  windowS: number,
  templates: string[] | undefined,
  sinkName: keyof typeof SINKS,
) {
  const base = loadSiteConfig(`${repoRoot}config/sites/beibei.json`)
  const cloned = templates ? base.stations.filter((s) => templates.includes(s.id)) : base.stations
  const perCopy = cloned.reduce((n, s) => n + s.connectors.length, 0)
  const stations = Math.ceil((connectorsWanted / perCopy) * cloned.length)
  const connectors = scaleSite(base, stations, templates).stations.reduce(
    (n, s) => n + s.connectors.length,
    0,
  )
  const dir = mkdtempSync(join(tmpdir(), 'evmon-bench-sim-'))
  const sink = await SINKS[sinkName](dir)
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/src/main.ts',
      '--url',
      sink.url,
      '--scale',
      String(stations),
      '--state',
      'off',
      '--port',
      String(port),
      ...(templates ? ['--scale-from', templates.join(',')] : []),
    ],
    {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, EVMON_LOG_LEVEL: 'warn', ...sink.account },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  )
  try {
    await waitFor(
      'simulator',
      child,
      async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
      60_000,
    )
    const pid = child.pid as number
    const brokerPid = sink.child.pid as number
    // Warm-up: about one message per station per second acknowledged, the simulated clock keeping up.
    const deadline = Date.now() + WARM_UP_LIMIT_MS
    let settled = false
    while (!settled && Date.now() < deadline) {
      // Steady 1 Hz, not a catch-up after a stall: step to step, 10 s at 1.00 ± 0.01 steps per second.
      const from = await nextStep(port)
      const acked = await metric(port, 'evmon_sim_messages_acknowledged_total')
      await sleep(9000)
      const to = await nextStep(port)
      const ackRate = ((await metric(port, 'evmon_sim_messages_acknowledged_total')) - acked) / 10
      const stepRate = (to.steps - from.steps) / ((to.at - from.at) / 1000)
      settled =
        ackRate >= 0.95 * stations &&
        Math.abs(stepRate - 1) <= 0.01 &&
        (await metric(port, 'evmon_sim_publish_in_flight')) < stations
    }
    // The window runs from one step of the simulated clock to another, so the rate is not off by a
    // step's worth of scrape timing.
    const stepA = await nextStep(port)
    const a = procStat(pid)
    const brokerA = procStat(brokerPid)
    const ackA = await metric(port, 'evmon_sim_messages_acknowledged_total')
    let peakRss = a.rssMb
    while (performance.now() - stepA.at < (windowS - 1) * 1000) {
      await sleep(1000)
      peakRss = Math.max(peakRss, procStat(pid).rssMb)
    }
    const stepB = await nextStep(port)
    const b = procStat(pid)
    const brokerB = procStat(brokerPid)
    const elapsedS = (stepB.at - stepA.at) / 1000
    const ackB = await metric(port, 'evmon_sim_messages_acknowledged_total')
    const inFlight = await metric(port, 'evmon_sim_publish_in_flight')
    const stepsPerS = (stepB.steps - stepA.steps) / elapsedS
    return {
      sink: sink.label,
      stations,
      connectors,
      settled,
      cpuCores: (b.cpuS - a.cpuS) / elapsedS,
      brokerCores: (brokerB.cpuS - brokerA.cpuS) / elapsedS,
      rssMb: b.rssMb,
      peakRss,
      stepsPerS,
      samplesPerS: stepsPerS * connectors,
      messagesPerS: (ackB - ackA) / elapsedS,
      acknowledged: ackB - ackA,
      inFlight,
    }
  } finally {
    await stopChild(child)
    await stopChild(sink.child)
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en')

async function throughput(): Promise<void> {
  const small = generation(4, 86_400 / 4)
  console.log(
    `dry run, Beibei site (11 connectors), 6 h: ${fmt(small.sampleRate)} samples/s generated, ${fmt(small.ndjsonRate)} samples/s as NDJSON`,
  )
  const big = generation(4000, 120)
  console.log(
    `dry run, 4,000 stations (${fmt(big.samples / 120)} connectors), 120 s: ${fmt(big.sampleRate)} samples/s generated, ${fmt(big.ndjsonRate)} samples/s as NDJSON (goal ≥ 200,000)`,
  )

  const pub = await publishing(400, 120)
  console.log(
    `published (backfill, 400 stations, broker in-process): ${fmt(pub.messageRate)} msg/s acknowledged = ${fmt(pub.sampleRate)} connector samples/s`,
  )
}

export default async function main(args: string[]): Promise<void> {
  const connectors = option(args, 'connectors', 50_000)
  const only = args.includes('--scale-only')
  const windowS = option(args, 'seconds', 60)
  const sinkArg = args.indexOf('--brokers')
  const sinks = (sinkArg >= 0 ? (args[sinkArg + 1] ?? '') : 'mosquitto,aedes-anonymous,aedes').split(',')
  const unknown = sinks.filter((name) => !(name in SINKS))
  if (unknown.length > 0)
    throw new Error(`unknown --brokers ${unknown.join(',')}: use ${Object.keys(SINKS).join(',')}`)
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  )

  if (!only) await throughput()
  const templateArg = args.indexOf('--scale-from')
  const templates = templateArg >= 0 ? (args[templateArg + 1] ?? '').split(',') : undefined
  for (const name of sinks) {
    const s = await scale(connectors, windowS, templates, name as keyof typeof SINKS)
    // 1 Hz counts only when the simulated clock kept pace with the wall clock over the whole window:
    // slower is falling behind, faster is catching up after a stall.
    const trueRate = Math.abs(s.stepsPerS - 1) <= 0.01
    console.log(
      `scale mode → ${s.sink} in its own process, ${fmt(s.stations)} stations / ${fmt(s.connectors)} connectors, ${windowS} s window: ` +
        `${s.stepsPerS.toFixed(3)} samples per connector per s (${fmt(s.samplesPerS)} connector samples/s; ` +
        `${trueRate ? 'a true 1 Hz' : 'NOT a steady 1 Hz: does not count'}), ` +
        `simulator ${s.cpuCores.toFixed(2)} cores (goal < 1), RSS ${fmt(s.rssMb)} MB (peak ${fmt(s.peakRss)}), ` +
        `${fmt(s.messagesPerS)} QoS 1 msg/s acknowledged (${fmt(s.acknowledged)} in the window, ${fmt(s.inFlight)} in flight at its end), ` +
        `broker ${s.brokerCores.toFixed(2)} cores` +
        (s.settled
          ? ''
          : ` (never settled at one acknowledged message per station per second and 1 Hz in ${WARM_UP_LIMIT_MS / 1000} s of warm-up)`),
    )
  }
}
