// Simulator throughput: connector samples generated per second (dry run, no I/O), published per
// second to an in-process broker (backfill mode: as fast as PUBACKs come back), and CPU + memory of
// a scale-mode run of ~50,000 connectors at 1 Hz in real time (a child process, so its CPU is its
// own; the broker runs in this process). Loopback only; stops by itself.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { fileURLToPath } from 'node:url'
import { start as startBroker } from '@evmon/broker'
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

// Scale mode in real time, in a child process exactly as `npm run sim -- --scale N` runs it.
async function scale(connectorsWanted: number, windowS: number, templates: string[] | undefined) {
  const base = loadSiteConfig(`${repoRoot}config/sites/beibei.json`)
  const cloned = templates ? base.stations.filter((s) => templates.includes(s.id)) : base.stations
  const perCopy = cloned.reduce((n, s) => n + s.connectors.length, 0)
  const stations = Math.ceil((connectorsWanted / perCopy) * cloned.length)
  const connectors = scaleSite(base, stations, templates).stations.reduce(
    (n, s) => n + s.connectors.length,
    0,
  )
  const broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    log: () => {},
  })
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/src/main.ts',
      '--url',
      broker.mqttUrl,
      '--scale',
      String(stations),
      '--state',
      'off',
      '--port',
      '0',
      ...(templates ? ['--scale-from', templates.join(',')] : []),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const match = /control API on http:\/\/[^:]+:(\d+)/.exec(out)
        if (match) resolve(Number(match[1]))
      })
      child.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)))
    })
    const pid = child.pid as number
    // Warm-up: every station connected and acknowledged at about one telemetry message per second.
    const deadline = Date.now() + 180_000
    let settled = false
    while (!settled && Date.now() < deadline) {
      const before = await metric(port, 'evmon_sim_messages_acknowledged_total')
      await sleep(2000)
      const rate = ((await metric(port, 'evmon_sim_messages_acknowledged_total')) - before) / 2
      settled = rate >= 0.95 * stations && (await metric(port, 'evmon_sim_publish_in_flight')) < stations
    }
    const a = procStat(pid)
    const ackA = await metric(port, 'evmon_sim_messages_acknowledged_total')
    const stepsA = await metric(port, 'evmon_sim_steps_total')
    const t0 = performance.now()
    let peakRss = a.rssMb
    for (let s = 0; s < windowS; s++) {
      await sleep(1000)
      peakRss = Math.max(peakRss, procStat(pid).rssMb)
    }
    const b = procStat(pid)
    const elapsedS = (performance.now() - t0) / 1000
    const ackB = await metric(port, 'evmon_sim_messages_acknowledged_total')
    const stepsB = await metric(port, 'evmon_sim_steps_total')
    return {
      stations,
      connectors,
      settled,
      cpuCores: (b.cpuS - a.cpuS) / elapsedS,
      rssMb: b.rssMb,
      peakRss,
      stepsPerS: (stepsB - stepsA) / elapsedS,
      messagesPerS: (ackB - ackA) / elapsedS,
    }
  } finally {
    child.kill('SIGTERM')
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r))
    await broker.close()
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
  const windowS = option(args, 'seconds', 30)
  console.log(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  )

  if (!only) await throughput()
  const templateArg = args.indexOf('--scale-from')
  const templates = templateArg >= 0 ? (args[templateArg + 1] ?? '').split(',') : undefined
  const s = await scale(connectors, windowS, templates)
  console.log(
    `scale mode, ${fmt(s.stations)} stations / ${fmt(s.connectors)} connectors at 1 Hz, ${windowS} s window: ` +
      `${s.cpuCores.toFixed(2)} cores (goal < 1), RSS ${fmt(s.rssMb)} MB (peak ${fmt(s.peakRss)}), ` +
      `${s.stepsPerS.toFixed(2)} steps/s (${(s.cpuCores / s.stepsPerS).toFixed(2)} CPU-s per step), ` +
      `${fmt(s.messagesPerS)} msg/s acknowledged` +
      (s.settled ? '' : ' (never settled at one message per station per second)'),
  )
}
