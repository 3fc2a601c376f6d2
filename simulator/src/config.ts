import { isValidId } from '@evmon/contracts'
import { parseArgs } from 'node:util'
import type { EnvVar } from '@evmon/runtime'
import { DEFAULTS } from './defaults.ts'
import { parseDurationS } from './duration.ts'
import { simulatorEnv } from './env.ts'
import type { OcppSettings } from './ocpp/options.ts'

/** How the simulator runs: parsed once from flags and `EVMON_*` variables, then frozen. */
export interface SimulatorConfig {
  /**
   * live: publish over MQTT in (scaled) real time; dry-run: write NDJSON without a broker;
   * backfill: publish the past `durationS` as fast as the broker acknowledges; replay: publish a
   * recording with its original timing.
   */
  mode: 'live' | 'dry-run' | 'backfill' | 'replay'
  mqttUrl: string
  username?: string
  password?: string
  /** Unsigned 32-bit seed of every random decision. */
  seed: number
  /** Simulated seconds per wall-clock second in live mode. */
  speed: number
  sitePath: string
  /** Simulated start, UTC ms; absent means the wall clock when the run starts. */
  startMs?: number
  /** Simulated seconds to run; absent means until stopped (live) or {@link DEFAULTS.dryRunDurationS} (dry run). */
  durationS?: number
  sampleIntervalMs: number
  /** Dry-run output file; absent means standard output. */
  out?: string
  /** Port of the control API, `/healthz` and `/metrics` (live, backfill, replay); 0 picks a free one. */
  port: number
  /** Address the control API listens on. */
  host: string
  /** State file carrying the registers across restarts; absent: none (the default of a dry run). */
  statePath?: string
  /** Scale mode: this many synthetic stations, cloned from the site's stations in turn. */
  scaleStations?: number
  /** Scale mode: clone only these stations of the site. */
  scaleFrom?: string[]
  /** Replay: the NDJSON recording to publish. */
  replayPath?: string
  /** Replay: publish under this site id instead of the recorded one. */
  replaySite?: string
  /** Stations that speak OCPP to the gateway instead of MQTT (live); absent: all MQTT. */
  ocpp?: OcppSettings
}

export type ParsedConfig =
  | { kind: 'run'; config: Readonly<SimulatorConfig> }
  | { kind: 'help' }
  | { kind: 'invalid'; problems: string[] }

/** `--help` text. */
export const USAGE = `Usage: npm run sim -- [options]

Plays the charging stations of a site file and publishes what they would (evmon MQTT contract v1).

Options (each overrides the environment variable beside it):
  --url URL          broker URL                        EVMON_MQTT_URL       (${DEFAULTS.mqttUrl})
  --username NAME    MQTT username                     EVMON_MQTT_USERNAME
  --password SECRET  MQTT password                     EVMON_MQTT_PASSWORD
  --protocol SPEC    mqtt, ocpp1.6, ocpp2.0.1, or per station kc-fast-1=ocpp1.6,kc-fast-2=ocpp2.0.1
                                                       EVMON_SIM_PROTOCOL   (mqtt)
  --ocpp-url URL     OCPP gateway (chargers connect to URL/{site}/{IDENTITY})
                                                       EVMON_SIM_OCPP_URL   (ws://127.0.0.1:9220/ocpp)
  --ocpp-passwords FILE  {"IDENTITY": "password"} of the OCPP chargers  EVMON_SIM_OCPP_PASSWORDS
  --seed N           seed, 0..4294967295               EVMON_SIM_SEED       (${DEFAULTS.seed})
  --speed N          simulated seconds per wall second EVMON_SIM_SPEED      (${DEFAULTS.speed})
  --site FILE        site file                         EVMON_SIM_SITE       (config/sites/beibei.json)
  --start ISO-TIME   simulated start time              (now)
  --duration TIME    simulated time to run: 3600, 90m, 24h, 30d (live: until stopped; dry run: ${DEFAULTS.dryRunDurationS}s)
  --port N           control API, /healthz, /metrics   EVMON_SIM_PORT       (${DEFAULTS.port}; also EVMON_SIM_METRICS_PORT)
  --host ADDRESS     control API listen address        EVMON_SIM_HOST       (${DEFAULTS.host})
  --state FILE|off   registers kept across restarts    EVMON_SIM_STATE      (live: var/simulator/{site}.json; dry run: off)
  --scale N          N synthetic stations cloned from the site's stations, for load tests
  --scale-from IDS   clone only these stations, comma-separated (e.g. kc-ac: 4 connectors each)

Modes (live when none is given):
  --dry-run          write what would be published as NDJSON, as fast as possible, no broker
  --out FILE         dry-run output file               (standard output)
  --backfill TIME    publish the last TIME (e.g. 7d) as fast as the broker takes it, with progress and ETA
  --interval TIME    simulated time between samples, whole seconds: 1 to 60 (1; npm start backfills at 10s)
  --replay FILE      publish an NDJSON recording (dry-run or API export) with its original timing
  --as-site ID       replay under this site id         (the recorded one)
  -h, --help         this text

Control API on --port: GET /healthz, /metrics, /stations, /sessions, /grid; POST /pause, /resume,
/stations/S/connectors/C/plug-in {vehicle,socPct,targetSocPct}, /stations/S/connectors/C/fault
{errorCode,vendorError}, /stations/S/connectors/C/cooling-failure {kind,repairS},
/stations/S/module-failure {repairS}, /stations/S/offline {durationS}; DELETE
/stations/S/connectors/C/fault; PUT /grid {limitKw}; GET, PUT, DELETE /ambient {ambientC}.
`

interface Raw {
  /** Where the value came from, for error messages: `--speed` or `EVMON_SIM_SPEED`. */
  source: string
  value: string
}

function describe(raw: Raw): string {
  return raw.source.startsWith('--')
    ? `${raw.source} ${JSON.stringify(raw.value)}`
    : `${raw.source}=${JSON.stringify(raw.value)}`
}

/**
 * Parses command-line flags over `EVMON_*` variables (flags win). Never throws and never exits:
 * every bad value is reported in `problems`, so the caller can print them all at once.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedConfig {
  const problems: string[] = []
  let flags: Record<string, string | boolean | undefined> = {}
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: {
        url: { type: 'string' },
        username: { type: 'string' },
        password: { type: 'string' },
        protocol: { type: 'string' },
        'ocpp-url': { type: 'string' },
        'ocpp-passwords': { type: 'string' },
        seed: { type: 'string' },
        speed: { type: 'string' },
        site: { type: 'string' },
        start: { type: 'string' },
        duration: { type: 'string' },
        'dry-run': { type: 'boolean' },
        out: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        state: { type: 'string' },
        scale: { type: 'string' },
        'scale-from': { type: 'string' },
        backfill: { type: 'string' },
        interval: { type: 'string' },
        replay: { type: 'string' },
        'as-site': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    })
    flags = parsed.values
  } catch (err) {
    problems.push((err as Error).message)
  }
  if (flags.help) return { kind: 'help' }

  const pick = (flag: string, variable?: string): Raw | undefined => {
    const fromFlag = flags[flag]
    if (typeof fromFlag === 'string') return { source: `--${flag}`, value: fromFlag }
    const fromEnv = variable === undefined ? undefined : env[variable]
    if (variable !== undefined && fromEnv !== undefined && fromEnv !== '')
      return { source: variable, value: fromEnv }
    return undefined
  }
  const number = (raw: Raw | undefined, check: (n: number) => boolean, rule: string): number | undefined => {
    if (!raw) return undefined
    const n = Number(raw.value)
    if (raw.value.trim() === '' || !check(n)) {
      problems.push(`${describe(raw)} ${rule}`)
      return undefined
    }
    return n
  }

  // A flag and the variable it overrides are checked by the variable's one declared rule.
  const declared = <T>(flag: string, v: EnvVar<T>): T | undefined => {
    const raw = pick(flag, v.name)
    if (!raw) return undefined
    try {
      return v.parse(raw.value)
    } catch (err) {
      problems.push(`${describe(raw)} ${(err as Error).message}`)
      return undefined
    }
  }
  const e = simulatorEnv
  const url = declared('url', e.mqttUrl)
  const username = declared('username', e.mqttUsername)
  const password = pick('password', e.mqttPassword.name)
  if (password && !username) problems.push(`${password.source} is set but no MQTT username is`)
  const seed = declared('seed', e.seed)
  const protocol = declared('protocol', e.protocol)
  const ocppUrl = declared('ocpp-url', e.ocppUrl)
  const ocppPasswords = declared('ocpp-passwords', e.ocppPasswords)
  const speed = declared('speed', e.speed)
  const durationOf = (raw: Raw | undefined): number | undefined => {
    if (!raw) return undefined
    const seconds = parseDurationS(raw.value)
    if (seconds === undefined)
      problems.push(`${describe(raw)} must be a duration above 0 such as 3600, 90m, 24h or 30d`)
    return seconds
  }
  const duration = durationOf(pick('duration'))
  const backfill = durationOf(pick('backfill'))
  const intervalRaw = pick('interval')
  const intervalS = durationOf(intervalRaw)
  if (intervalRaw && intervalS !== undefined && !(Number.isInteger(intervalS) && intervalS <= 60)) {
    problems.push(`${describe(intervalRaw)} must be whole seconds from 1 to 60`)
  }
  const sampleIntervalMs = (intervalS ?? DEFAULTS.sampleIntervalMs / 1000) * 1000
  const port = pick('port', e.port.name) ? declared('port', e.port) : declared('port', e.metricsPort)
  const scale = number(
    pick('scale'),
    (n) => Number.isInteger(n) && n >= 1 && n <= DEFAULTS.maxScaleStations,
    `must be a whole number of stations from 1 to ${DEFAULTS.maxScaleStations}`,
  )
  const scaleFrom = pick('scale-from')
  if (scaleFrom && scale === undefined) problems.push('--scale-from only applies to --scale')
  const state = pick('state', e.state.name)
  const replay = pick('replay')
  const asSite = pick('as-site')
  if (asSite && !replay) problems.push('--as-site only applies to --replay')
  if (asSite && !isValidId(asSite.value)) problems.push(`${describe(asSite)} is not a valid site id`)
  const site = declared('site', e.site)
  const host = declared('host', e.host)

  const start = pick('start')
  let startMs: number | undefined
  if (start) {
    startMs = Date.parse(start.value)
    if (Number.isNaN(startMs)) {
      problems.push(`${describe(start)} must be an ISO 8601 time such as 2025-03-25T12:00:00+08:00`)
      startMs = undefined
    }
  }
  const dryRun = flags['dry-run'] === true
  const out = pick('out')
  if (out && !dryRun) problems.push('--out only applies to --dry-run')
  const modes = [dryRun && '--dry-run', backfill !== undefined && '--backfill', replay && '--replay'].filter(
    Boolean,
  )
  if (modes.length > 1) problems.push(`${modes.join(' and ')} are different modes: choose one`)
  if (backfill !== undefined && (start || duration !== undefined)) {
    problems.push('--backfill sets its own start and duration (now minus TIME, TIME)')
  }
  if (replay && scale !== undefined) problems.push('--scale does not apply to --replay')

  if (problems.length > 0) return { kind: 'invalid', problems }
  const mode = dryRun ? 'dry-run' : backfill !== undefined ? 'backfill' : replay ? 'replay' : 'live'
  const config: SimulatorConfig = {
    mode,
    mqttUrl: url ?? DEFAULTS.mqttUrl,
    seed: seed ?? DEFAULTS.seed,
    speed: speed ?? DEFAULTS.speed,
    sitePath: site ?? DEFAULTS.sitePath,
    sampleIntervalMs,
    port: port ?? DEFAULTS.port,
    host: host ?? DEFAULTS.host,
  }
  if (username) config.username = username
  if (password) config.password = password.value
  if (startMs !== undefined) config.startMs = startMs
  if (duration !== undefined) config.durationS = duration
  if (backfill !== undefined) {
    // Whole samples, ending at the wall clock's last whole sample.
    const endMs = Math.floor(Date.now() / sampleIntervalMs) * sampleIntervalMs
    config.startMs = endMs - backfill * 1000
    config.durationS = backfill
  }
  if (out) config.out = out.value
  if (state && state.value !== 'off') config.statePath = state.value
  if (!state && (mode === 'live' || mode === 'backfill')) config.statePath = DEFAULTS.statePath
  if (scale !== undefined) config.scaleStations = scale
  if (scaleFrom) config.scaleFrom = scaleFrom.value.split(',').map((id) => id.trim())
  if (replay) config.replayPath = replay.value
  if (asSite) config.replaySite = asSite.value
  // OCPP chargers speak in the present: a dry run, a backfill or a replay writes MQTT as always.
  if (protocol !== undefined && protocol !== 'mqtt' && mode === 'live') {
    config.ocpp = {
      protocol,
      url: ocppUrl ?? e.ocppUrl.default,
      ...(ocppPasswords !== undefined && { passwordsFile: ocppPasswords }),
    }
  }
  return { kind: 'run', config: Object.freeze(config) }
}

/** Simulated start: the configured one, or the wall clock rounded down to a whole sample. */
export function startTimeOf(config: Pick<SimulatorConfig, 'startMs' | 'sampleIntervalMs'>): number {
  return config.startMs ?? Math.floor(Date.now() / config.sampleIntervalMs) * config.sampleIntervalMs
}
