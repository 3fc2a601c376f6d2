// The whole stack as deployed, for `npm run bench -- stack`: InfluxDB, Redis, broker (authentication,
// ACLs and sessions on Redis), ingest, API and the simulator in scale mode, each a process of its own,
// wired as scripts/stack.ts wires them for `npm start` (same entry points, same service accounts), with
// the simulator cloning the Beibei stations instead of running the site itself. Loopback only.
// `broker: 'mosquitto'` puts the compose `scale` profile's mosquitto in place of the broker and Redis.
// The simulator's site is Beibei's with its stations' network outages turned off: an offline station
// generates samples it never sends (by design), which would make "generated" differ from "sent" and
// hide real losses among the simulated ones. Every other behaviour of the site is kept.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { Credentials } from '@evmon/broker'
import { ALL_STATIONS_FILTER } from '@evmon/contracts'
import { startInfluxd } from '../test/support/influxd.ts'
import { PROFILE_ACL, startMosquitto } from '../test/support/mosquitto.ts'
import { freePorts } from '../test/support/ports.ts'
import { startRedis } from '../test/support/redis.ts'
import { pidOf } from './lib-measure.ts'

export interface BenchStackOptions {
  /** Everything the stack writes goes under here. */
  dir: string
  /** Simulated stations, cloned from the Beibei site's stations in turn. */
  stations: number
  /**
   * `aedes`: evmon's broker on Redis, as `npm start` and compose deploy it. `mosquitto`: the compose
   * `scale` profile's mosquitto in its place (its configuration, accounts and ACL, plus an account for the
   * API), with ingest in the profile's share group (MQTT 5): what the stack holds when the broker moves first.
   */
  broker: BrokerKind
  /** Lines the services print (warnings and errors: they run at log level `warn`). */
  log: (line: string) => void
}

export const BROKERS = ['aedes', 'mosquitto'] as const
export type BrokerKind = (typeof BROKERS)[number]

export interface BenchStack {
  apiUrl: string
  influxUrl: string
  influxDb: string
  /** The simulator's control API and metrics. */
  simUrl: string
  ingestMetricsUrl: string
  /** An operator token for the API. */
  token: string
  /** Processes whose CPU is reported (Redis only with the aedes broker). */
  pids: Record<string, number>
  /** A service that exited by itself, if any: the measurement is then void. */
  crashed(): string | null
  stop(): Promise<void>
}

const INFLUX_DB = 'evmon'
const repoRoot = fileURLToPath(new URL('..', import.meta.url))

async function waitHealthy(url: string, timeoutMs: number, what: string, crashed: () => string | null) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const dead = crashed()
    if (dead !== null) throw new Error(`${dead} exited while the stack was starting`)
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok) return
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`${what} not healthy at ${url} after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

type Role = 'ingest' | 'api' | 'simulator'

interface BrokerContext {
  mqttPort: string
  wsPort: string
  brokerPort: string
  /** The broker's own processes that are not services (mosquitto, Redis) go here, to be stopped last. */
  backends: Array<{ stop(): Promise<void> }>
  spawnService: (name: string, entry: string, env: Record<string, string>) => number
  isCrashed: () => string | null
}

/** Starts the broker on `mqttPort` with an account per service; says what ingest needs to use it. */
async function startBroker(
  options: BenchStackOptions,
  ctx: BrokerContext,
): Promise<{
  secrets: Record<Role, string>
  pids: Record<string, number>
  ingestEnv: Record<string, string>
}> {
  const { dir } = options
  if (options.broker === 'mosquitto') {
    const secrets = {
      ingest: randomBytes(16).toString('hex'),
      api: randomBytes(16).toString('hex'),
      simulator: randomBytes(16).toString('hex'),
    }
    // The profile's ACL, and the API reading station topics as it does on evmon's broker.
    const aclFile = join(dir, 'mosquitto-acl')
    writeFileSync(
      aclFile,
      `${readFileSync(PROFILE_ACL, 'utf8')}\nuser api\ntopic read ${ALL_STATIONS_FILTER}\n`,
    )
    const mosquitto = await startMosquitto({
      dir: join(dir, 'mosquitto'),
      port: Number(ctx.mqttPort),
      users: secrets,
      aclFile,
    })
    ctx.backends.push(mosquitto)
    // As the profile runs ingest: in a share group, so MQTT 5 with its receive maximum (mosquitto would
    // otherwise keep 20 messages in flight to a 3.1.1 client, and ingest acknowledges after its write).
    return {
      secrets,
      pids: { broker: mosquitto.pid },
      ingestEnv: { EVMON_INGEST_SHARE_GROUP: 'evmon-ingest' },
    }
  }
  const redis = await startRedis({ dir: join(dir, 'redis'), port: 0 })
  ctx.backends.push(redis)
  const credentials = Credentials.empty()
  const secrets = {
    ingest: await credentials.issue('ingest'),
    api: await credentials.issue('api'),
    simulator: await credentials.issue('simulator'),
  }
  const credentialsFile = join(dir, 'credentials.json')
  credentials.save(credentialsFile)
  const broker = ctx.spawnService('broker', 'broker/src/main.ts', {
    EVMON_BROKER_HOST: '127.0.0.1',
    EVMON_MQTT_PORT: ctx.mqttPort,
    EVMON_MQTT_WS_PORT: ctx.wsPort,
    EVMON_BROKER_METRICS_PORT: ctx.brokerPort,
    EVMON_BROKER_CREDENTIALS: credentialsFile,
    EVMON_REDIS_URL: redis.url,
  })
  await waitHealthy(`http://127.0.0.1:${ctx.brokerPort}/healthz`, 30_000, 'broker', ctx.isCrashed)
  return { secrets, pids: { redis: pidOf(`:${redis.port}`), broker }, ingestEnv: {} }
}

export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const { dir, log } = options
  mkdirSync(dir, { recursive: true })
  const children: Array<{ name: string; child: ChildProcess }> = []
  let stopping = false
  let crashed: string | null = null
  const influxd = await startInfluxd({ dir: join(dir, 'influxdb'), port: 0 })
  // Stopped after the services, in reverse order of start (the broker, then Redis).
  const backends: Array<{ stop(): Promise<void> }> = []
  const stop = async () => {
    stopping = true
    // Simulator first (its stations go offline), then API, ingest (it drains), broker; Redis after the broker.
    for (const { child } of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }
    for (const backend of backends.reverse()) await backend.stop()
    await influxd.stop()
  }
  const spawnService = (name: string, entry: string, env: Record<string, string>, args: string[] = []) => {
    // EVMON_BENCH_CPU_PROF=<dir>: each service writes a V8 CPU profile there when it stops (where the time goes).
    const profile = process.env.EVMON_BENCH_CPU_PROF
    const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(profile, name)}`] : []
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], {
      cwd: repoRoot,
      env: { ...process.env, EVMON_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    for (const stream of [child.stdout, child.stderr])
      createInterface({ input: stream }).on('line', (line) => log(`[${name}] ${line}`))
    child.once('exit', (code) => {
      if (!stopping) {
        crashed ??= name
        log(`[${name}] exited unexpectedly (code ${String(code)})`)
      }
    })
    children.push({ name, child })
    return child.pid as number
  }
  try {
    const [mqttPort, wsPort, brokerPort, ingestPort, httpPort, simPort] = (await freePorts(6)).map(
      String,
    ) as [string, string, string, string, string, string]
    const isCrashed = () => crashed
    const { secrets, pids, ingestEnv } = await startBroker(options, {
      mqttPort,
      wsPort,
      brokerPort,
      backends,
      spawnService,
      isCrashed,
    })
    const account = (role: keyof typeof secrets) => ({
      EVMON_MQTT_USERNAME: role,
      EVMON_MQTT_PASSWORD: secrets[role],
    })
    const token = randomBytes(24).toString('hex')
    const common = {
      EVMON_MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      EVMON_INFLUX_URL: influxd.url,
      EVMON_INFLUX_DB: INFLUX_DB,
    }
    pids.influxd = pidOf(join(dir, 'influxdb', 'influxdb.conf'))
    pids.ingest = spawnService('ingest', 'ingest/src/main.ts', {
      ...common,
      ...account('ingest'),
      ...ingestEnv,
      EVMON_INGEST_METRICS_PORT: ingestPort,
      EVMON_INGEST_DEAD_LETTER: join(dir, 'ingest', 'dead-letter.ndjson'),
      EVMON_INGEST_SPOOL_DIR: join(dir, 'ingest', 'spool'),
    })
    pids.api = spawnService('api', 'api/src/main.ts', {
      ...common,
      ...account('api'),
      EVMON_HTTP_HOST: '127.0.0.1',
      EVMON_HTTP_PORT: httpPort,
      EVMON_API_TOKENS: `operator:${createHash('sha256').update(token).digest('hex')}`,
      // Raised so that the bench's own load is not answered 429; the limiter still runs on every request.
      EVMON_RATE_LIMIT_PUBLIC: '10000000',
      EVMON_RATE_LIMIT_TOKEN: '10000000',
    })
    await waitHealthy(`http://127.0.0.1:${ingestPort}/healthz`, 60_000, 'ingest', isCrashed)
    await waitHealthy(`http://127.0.0.1:${httpPort}/healthz`, 60_000, 'api', isCrashed)
    const sites = join(repoRoot, 'config', 'sites')
    const site = JSON.parse(readFileSync(join(sites, 'beibei.json'), 'utf8')) as {
      faults: { offline: { perStationPerDay: number } }
    }
    site.faults.offline.perStationPerDay = 0
    const siteFile = join(dir, 'beibei-always-online.json')
    writeFileSync(siteFile, JSON.stringify(site))
    pids.simulator = spawnService(
      'simulator',
      'simulator/src/main.ts',
      {
        ...common,
        ...account('simulator'),
        EVMON_SIM_PORT: simPort,
        EVMON_SIM_HOST: '127.0.0.1',
        EVMON_SIM_SITE: siteFile,
      },
      ['--scale', String(options.stations), '--state', 'off'],
    )
    await waitHealthy(`http://127.0.0.1:${simPort}/healthz`, 60_000, 'simulator', isCrashed)
    return {
      apiUrl: `http://127.0.0.1:${httpPort}`,
      influxUrl: influxd.url,
      influxDb: INFLUX_DB,
      simUrl: `http://127.0.0.1:${simPort}`,
      ingestMetricsUrl: `http://127.0.0.1:${ingestPort}/metrics`,
      token,
      pids,
      crashed: isCrashed,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
