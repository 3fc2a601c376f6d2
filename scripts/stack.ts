import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Credentials } from '@evmon/broker'
import { type OcppProtocol } from '@evmon/contracts'
import { influxEnv, readEnv } from '@evmon/runtime'
import { Chargers } from '@evmon/gateway'
import { gatewaySitesFile, ocppIdentityOf } from '@evmon/simulator'
import { backfillHistory } from './backfill.ts'
import { startInfluxd } from '../test/support/influxd.ts'
import { freePorts } from '../test/support/ports.ts'
import { startRedis } from '../test/support/redis.ts'

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')

export interface StackOptions {
  /** Local state: InfluxDB data, dead letters. */
  varDir: string
  /** Use this InfluxDB instead of starting a local influxd. */
  influxUrl?: string
  /** The stack's database; absent: EVMON_INFLUX_DB as configured. Tests give each stack its own. */
  influxDb?: string
  /** Port of the local influxd when one is started (0 = any free port). */
  influxPort: number
  /** Use this Redis for the broker's sessions instead of starting a local redis-server. */
  redisUrl?: string
  /** Port of the local redis-server when one is started (0 or absent = any free port). */
  redisPort?: number
  httpHost: string
  httpPort: number
  mqttPort: number
  mqttWsPort: number
  /** The OCPP gateway's port (also its `/healthz`, `/metrics`); 0 or absent picks a free one. */
  gatewayPort?: number
  /** Metrics/health ports of broker, ingest, simulator; 0 picks free ones (tests). */
  metricsPorts: { broker: number; ingest: number; simulator: number }
  simSeed: number
  simSpeed: number
  /**
   * On a first start (no simulator state in `varDir` yet), simulate and store this many seconds of
   * history up to now before going live; absent: none (tests start empty).
   */
  firstStartBackfillS?: number
  /** The first start's backfill progress line, redrawn in place; absent: not shown. */
  progress?: (line: string) => void
  /** Receives every line the services print, prefixed with the service name. */
  log: (line: string) => void
  /** Called when a service exits by itself; the stack is then incomplete until it is restarted. */
  onExit?: (service: string, code: number | null) => void
  /** Start a service that exited by itself again (`npm start`); absent: leave it down (tests). */
  restartCrashed?: boolean
}

/** `npm start`'s first start shows a week of history at once: Analytics, Sessions and Replay have data to show. */
export const FIRST_START_BACKFILL_S = 7 * 86_400

export interface StackHandle {
  dashboardUrl: string
  /** A fresh engineer API token for this run (operator and engineer views, replay, export). */
  devToken: string
  mqttUrl: string
  influxUrl: string
  /** `ws://…/ocpp`: chargers connect to `{ocppUrl}/{site}/{identity}`. */
  ocppUrl: string
  stop(): Promise<void>
}

interface Service {
  name: string
  child: ChildProcess
  exited: Promise<void>
  /** Set before we stop it, so its exit is not reported as a crash. */
  stopping: boolean
}

/**
 * When something `npm start` runs dies by itself: reports it and, with `restartCrashed`, calls `again`
 * after a pause, as compose's `restart: unless-stopped` would, that doubles (1 s to 30 s) while it keeps
 * failing; a run of a minute or more counts as recovered.
 */
function restartPolicy(name: string, options: StackOptions, stopping: () => boolean) {
  let failures = 0
  return (launchedAt: number, code: number | null, how: string, again: () => void) => {
    if (stopping()) return
    options.onExit?.(name, code)
    if (!options.restartCrashed) return
    if (Date.now() - launchedAt >= 60_000) failures = 0
    const delayMs = Math.min(30_000, 1_000 * 2 ** failures++)
    options.log(`[${name}] exited (${how}); restarting it in ${delayMs / 1000} s`)
    setTimeout(() => {
      if (!stopping()) again()
    }, delayMs)
  }
}

function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
  options: StackOptions,
): Service {
  const service = { name, stopping: false } as Service
  const exitedByItself = restartPolicy(name, options, () => service.stopping)
  const launch = () => {
    // Services run from TypeScript through tsx's loader: the same command the container images use.
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => options.log(`[${name}] ${line}`))
    }
    const launchedAt = Date.now()
    service.child = child
    service.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        resolve()
        exitedByItself(launchedAt, code, signal ?? `code ${code}`, launch)
      }),
    )
  }
  launch()
  return service
}

/**
 * A backend `npm start` runs itself (influxd, redis-server), kept running like a service: started
 * again on the port it first got when it dies by itself. `start` resolves once it answers.
 */
async function superviseBackend(
  name: string,
  start: (port: number) => Promise<{ url: string; exited: Promise<void>; stop(): Promise<void> }>,
  port: number,
  options: StackOptions,
): Promise<{ url: string; stop(): Promise<void> }> {
  let stopping = false
  let current = await start(port)
  /** A restart in progress: a stop waits for it, then stops what it started. */
  let restarting: Promise<void> = Promise.resolve()
  const { url } = current
  const fixedPort = Number(new URL(url).port)
  const exitedByItself = restartPolicy(name, options, () => stopping)
  const watch = (launchedAt: number) => {
    void current.exited.then(() => exitedByItself(launchedAt, null, 'by itself', relaunch))
  }
  const relaunch = () => {
    const launchedAt = Date.now()
    restarting = start(fixedPort).then(
      (handle) => {
        current = handle
        watch(launchedAt)
      },
      (err: Error) => exitedByItself(launchedAt, null, `could not start: ${err.message}`, relaunch),
    )
  }
  watch(Date.now())
  return {
    url,
    async stop() {
      stopping = true
      await restarting
      await current.stop()
    },
  }
}

async function stopService(service: Service): Promise<void> {
  // First: a restart that is waiting must not start it again.
  service.stopping = true
  if (service.child.exitCode !== null || service.child.signalCode !== null) return
  service.child.kill('SIGTERM')
  const timer = setTimeout(() => service.child.kill('SIGKILL'), 10_000)
  await service.exited
  clearTimeout(timer)
}

async function waitHealthy(url: string, timeoutMs: number, what: string, services: Service[]): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no answer'
  while (Date.now() < deadline) {
    const dead = services.find((s) => s.child.exitCode !== null)
    if (dead)
      throw new Error(`${dead.name} exited with code ${dead.child.exitCode} while the stack was starting`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
      last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`
    } catch (err) {
      last = (err as Error).message
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`${what} not healthy at ${url} after ${timeoutMs} ms (${last})`)
}

const SERVICE_ACCOUNTS = ['ingest', 'api', 'simulator', 'gateway'] as const

/** Stations of the Beibei site that `npm start` plays as OCPP chargers, so both protocols always run. */
export const OCPP_STATIONS: Readonly<Record<string, OcppProtocol>> = {
  'kc-fast-1': 'ocpp1.6',
  'kc-fast-2': 'ocpp2.0.1',
}

/**
 * The gateway's side of the OCPP chargers, generated like the broker's: a fresh password per charger
 * on every start, stored as a salted hash in `var/gateway/chargers.json` for the gateway, and handed to
 * the simulator in a file only this user can read; plus the sites file describing them.
 */
async function ocppChargers(
  varDir: string,
  sitePath: string,
): Promise<{ chargersFile: string; sitesFile: string; passwordsFile: string; protocol: string }> {
  const stations = Object.keys(OCPP_STATIONS)
  const chargersFile = join(varDir, 'gateway', 'chargers.json')
  const chargers = Chargers.load(chargersFile)
  const passwords: Record<string, string> = {}
  for (const station of stations) {
    const identity = ocppIdentityOf(station)
    passwords[identity] = (await chargers.add('beibei', identity)).password
  }
  await chargers.save(chargersFile)
  const sitesFile = join(varDir, 'gateway', 'sites.json')
  writeFileSync(sitesFile, `${JSON.stringify(gatewaySitesFile(sitePath, stations), null, 2)}\n`)
  const passwordsFile = join(varDir, 'simulator', 'ocpp-passwords.json')
  mkdirSync(dirname(passwordsFile), { recursive: true })
  writeFileSync(passwordsFile, JSON.stringify(passwords), { mode: 0o600 })
  const protocol = Object.entries(OCPP_STATIONS)
    .map(([station, p]) => `${station}=${p}`)
    .join(',')
  return { chargersFile, sitesFile, passwordsFile, protocol }
}

/**
 * Development credentials: a fresh secret per service account on every start, stored hashed in
 * `var/broker/credentials.json` for the broker and handed to each service through its environment.
 * Station accounts added with `npm run broker -- add-station` are kept.
 */
async function devCredentials(varDir: string): Promise<{ file: string; secrets: Record<string, string> }> {
  const file = join(varDir, 'broker', 'credentials.json')
  const credentials = existsSync(file) ? Credentials.load(file) : Credentials.empty()
  const secrets: Record<string, string> = {}
  for (const role of SERVICE_ACCOUNTS) secrets[role] = await credentials.issue(role)
  credentials.save(file)
  return { file, secrets }
}

const mqttAccount = (secrets: Record<string, string>, role: (typeof SERVICE_ACCOUNTS)[number]) => ({
  EVMON_MQTT_USERNAME: role,
  EVMON_MQTT_PASSWORD: secrets[role] as string,
})

/**
 * A fresh engineer token per start: the API gets only its SHA-256, the person at the terminal gets the
 * token. Tokens already configured in the environment (EVMON_API_TOKENS) keep working alongside it.
 */
function devApiToken(): { token: string; tokens: string } {
  const token = randomBytes(32).toString('hex')
  const entry = `engineer:${createHash('sha256').update(token).digest('hex')}`
  return { token, tokens: [process.env.EVMON_API_TOKENS, entry].filter(Boolean).join(',') }
}

/**
 * Brings up InfluxDB and Redis (unless given), broker, ingest, api and simulator as separate processes
 * wired together, and waits until each is healthy. `npm start` and the end-to-end tests both use it.
 */
export async function startStack(options: StackOptions): Promise<StackHandle> {
  mkdirSync(options.varDir, { recursive: true })
  let influxd: { url: string; stop(): Promise<void> } | undefined
  let redis: { url: string; stop(): Promise<void> } | undefined
  const services: Service[] = []
  const stop = async () => {
    // The broker hands its queued messages to Redis as it stops: Redis goes after it.
    for (const service of [...services].reverse()) await stopService(service)
    await redis?.stop()
    await influxd?.stop()
  }
  try {
    let influxUrl = options.influxUrl
    if (!influxUrl) {
      const dir = join(options.varDir, 'influxdb')
      influxd = await superviseBackend(
        'influxd',
        (port) => startInfluxd({ dir, port }),
        options.influxPort,
        options,
      )
      influxUrl = influxd.url
    }
    let redisUrl = options.redisUrl
    if (!redisUrl) {
      const dir = join(options.varDir, 'redis')
      redis = await superviseBackend(
        'redis-server',
        (port) => startRedis({ dir, port }),
        options.redisPort ?? 0,
        options,
      )
      redisUrl = redis.url
    }
    // Ports asked as 0 are chosen together, so no two services race for the same one.
    const spare = await freePorts(7)
    const port = (p: number) => String(p || spare.pop())
    const mqttPort = port(options.mqttPort)
    const brokerMetrics = port(options.metricsPorts.broker)
    const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`
    const httpPort = port(options.httpPort)
    const common = {
      EVMON_MQTT_URL: mqttUrl,
      EVMON_INFLUX_URL: influxUrl,
      ...(options.influxDb !== undefined && { EVMON_INFLUX_DB: options.influxDb }),
    }
    const { file: credentialsFile, secrets } = await devCredentials(options.varDir)
    const api = devApiToken()

    services.push(
      spawnService(
        'broker',
        'broker/src/main.ts',
        {
          EVMON_MQTT_PORT: mqttPort,
          EVMON_MQTT_WS_PORT: port(options.mqttWsPort),
          EVMON_BROKER_METRICS_PORT: brokerMetrics,
          EVMON_BROKER_CREDENTIALS: credentialsFile,
          EVMON_REDIS_URL: redisUrl,
        },
        options,
      ),
    )
    await waitHealthy(`http://127.0.0.1:${brokerMetrics}/healthz`, 30_000, 'broker', services)

    const ingestMetrics = port(options.metricsPorts.ingest)
    services.push(
      spawnService(
        'ingest',
        'ingest/src/main.ts',
        {
          ...common,
          ...mqttAccount(secrets, 'ingest'),
          EVMON_INGEST_METRICS_PORT: ingestMetrics,
          EVMON_INGEST_DEAD_LETTER: join(options.varDir, 'ingest', 'dead-letter.ndjson'),
          // Each stack its own spool: the spool is locked by the ingest that owns it.
          EVMON_INGEST_SPOOL_DIR: join(options.varDir, 'ingest', 'spool'),
        },
        options,
      ),
    )
    services.push(
      spawnService(
        'api',
        'api/src/main.ts',
        {
          ...common,
          ...mqttAccount(secrets, 'api'),
          EVMON_HTTP_HOST: options.httpHost,
          EVMON_HTTP_PORT: httpPort,
          EVMON_API_TOKENS: api.tokens,
          // Open alerts, their history and acknowledgements survive a restart of this stack's API.
          EVMON_API_ALERTS_FILE: join(options.varDir, 'api', 'alerts.json'),
        },
        options,
      ),
    )
    await waitHealthy(`http://127.0.0.1:${ingestMetrics}/healthz`, 60_000, 'ingest', services)
    await waitHealthy(`http://127.0.0.1:${httpPort}/healthz`, 60_000, 'api', services)

    // The gateway: kc-fast-1 and kc-fast-2 reach the broker through it, as OCPP 1.6J and 2.0.1 chargers.
    const gatewayPort = port(options.gatewayPort ?? 0)
    const ocpp = await ocppChargers(options.varDir, join(repoRoot, 'config', 'sites', 'beibei.json'))
    services.push(
      spawnService(
        'gateway',
        'gateway/src/main.ts',
        {
          EVMON_MQTT_URL: mqttUrl,
          ...mqttAccount(secrets, 'gateway'),
          EVMON_GATEWAY_PORT: gatewayPort,
          EVMON_GATEWAY_CHARGERS: ocpp.chargersFile,
          EVMON_GATEWAY_SITES: ocpp.sitesFile,
          EVMON_GATEWAY_STATE: join(options.varDir, 'gateway', 'state.json'),
        },
        options,
      ),
    )
    await waitHealthy(`http://127.0.0.1:${gatewayPort}/healthz`, 60_000, 'gateway', services)
    const ocppUrl = `ws://127.0.0.1:${gatewayPort}/ocpp`

    const simulatorEnv = {
      ...common,
      ...mqttAccount(secrets, 'simulator'),
      // Live only: a backfill writes the past over MQTT, which OCPP chargers cannot.
      EVMON_SIM_PROTOCOL: ocpp.protocol,
      EVMON_SIM_OCPP_URL: ocppUrl,
      EVMON_SIM_OCPP_PASSWORDS: ocpp.passwordsFile,
      EVMON_SIM_SEED: String(options.simSeed),
      EVMON_SIM_PORT: port(options.metricsPorts.simulator),
      // Registers keep counting across restarts of this stack, never across stacks.
      EVMON_SIM_STATE: join(options.varDir, 'simulator', 'beibei.json'),
    }
    if (options.firstStartBackfillS !== undefined && !existsSync(simulatorEnv.EVMON_SIM_STATE)) {
      const days = options.firstStartBackfillS / 86_400
      options.log(`first start: simulating the Beibei site's last ${days} days, then going live`)
      const { values: influx } = readEnv(influxEnv, process.env)
      const took = await backfillHistory({
        repoRoot,
        env: simulatorEnv,
        durationS: options.firstStartBackfillS,
        intervalS: 10,
        influx: {
          url: influxUrl,
          database: options.influxDb ?? influx.influxDb,
          ...(influx.influxUsername ? { username: influx.influxUsername } : {}),
          ...(influx.influxPassword ? { password: influx.influxPassword } : {}),
        },
        ingestMetricsUrl: `http://127.0.0.1:${ingestMetrics}/metrics`,
        log: options.log,
        progress: options.progress ?? (() => {}),
      })
      const s = (x: number) => `${Math.round(x)} s`
      options.log(
        `first start: ${days} days of history in ${s(took.totalS)} (published ${s(took.publishedS)}, ` +
          `stored ${s(took.storedS)} later, rollups ${s(took.rollupsS)})`,
      )
    }
    services.push(
      spawnService(
        'simulator',
        'simulator/src/main.ts',
        { ...simulatorEnv, EVMON_SIM_SPEED: String(options.simSpeed) },
        options,
      ),
    )
    const host = options.httpHost === '0.0.0.0' ? '127.0.0.1' : options.httpHost
    return {
      dashboardUrl: `http://${host}:${httpPort}/`,
      devToken: api.token,
      mqttUrl,
      influxUrl,
      ocppUrl,
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}
