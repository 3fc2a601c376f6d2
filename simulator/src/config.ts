import { parseArgs } from 'node:util'
import { DEFAULTS } from './defaults.ts'

/** How the simulator runs: parsed once from flags and `EVMON_*` variables, then frozen. */
export interface SimulatorConfig {
  /** Publish over MQTT (live) or write NDJSON without a broker (dry run). */
  mode: 'live' | 'dry-run'
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
  --seed N           seed, 0..4294967295               EVMON_SIM_SEED       (${DEFAULTS.seed})
  --speed N          simulated seconds per wall second EVMON_SIM_SPEED      (${DEFAULTS.speed})
  --site FILE        site file                         EVMON_SIM_SITE       (config/sites/beibei.json)
  --start ISO-TIME   simulated start time              (now)
  --duration SECONDS stop after this much simulated time (live: run until stopped; dry run: ${DEFAULTS.dryRunDurationS})
  --dry-run          write what would be published as NDJSON, as fast as possible, no broker
  --out FILE         dry-run output file               (standard output)
  -h, --help         this text
`

const SEED_MAX = 0xffff_ffff

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
        seed: { type: 'string' },
        speed: { type: 'string' },
        site: { type: 'string' },
        start: { type: 'string' },
        duration: { type: 'string' },
        'dry-run': { type: 'boolean' },
        out: { type: 'string' },
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

  const url = pick('url', 'EVMON_MQTT_URL')
  if (url) {
    let protocol = ''
    try {
      protocol = new URL(url.value).protocol
    } catch {
      // reported below with the accepted forms
    }
    if (!['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'ws:', 'wss:'].includes(protocol)) {
      problems.push(
        `${describe(url)} must be a broker URL such as mqtt://127.0.0.1:1883 (mqtt, mqtts, ws or wss)`,
      )
    }
  }
  const username = pick('username', 'EVMON_MQTT_USERNAME')
  const password = pick('password', 'EVMON_MQTT_PASSWORD')
  if (password && !username) problems.push(`${password.source} is set but no MQTT username is`)

  const seed = number(
    pick('seed', 'EVMON_SIM_SEED'),
    (n) => Number.isInteger(n) && n >= 0 && n <= SEED_MAX,
    `must be a whole number from 0 to ${SEED_MAX}`,
  )
  const speed = number(
    pick('speed', 'EVMON_SIM_SPEED'),
    (n) => Number.isFinite(n) && n > 0 && n <= DEFAULTS.maxSpeed,
    `must be a number above 0 and at most ${DEFAULTS.maxSpeed}`,
  )
  const duration = number(
    pick('duration'),
    (n) => Number.isFinite(n) && n > 0,
    'must be a number of seconds above 0',
  )
  const site = pick('site', 'EVMON_SIM_SITE')

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

  if (problems.length > 0) return { kind: 'invalid', problems }
  const config: SimulatorConfig = {
    mode: dryRun ? 'dry-run' : 'live',
    mqttUrl: url?.value ?? DEFAULTS.mqttUrl,
    seed: seed ?? DEFAULTS.seed,
    speed: speed ?? DEFAULTS.speed,
    sitePath: site?.value ?? DEFAULTS.sitePath,
    sampleIntervalMs: DEFAULTS.sampleIntervalMs,
  }
  if (username) config.username = username.value
  if (password) config.password = password.value
  if (startMs !== undefined) config.startMs = startMs
  if (duration !== undefined) config.durationS = duration
  if (out) config.out = out.value
  return { kind: 'run', config: Object.freeze(config) }
}

/** Simulated start: the configured one, or the wall clock rounded down to a whole sample. */
export function startTimeOf(config: Pick<SimulatorConfig, 'startMs' | 'sampleIntervalMs'>): number {
  return config.startMs ?? Math.floor(Date.now() / config.sampleIntervalMs) * config.sampleIntervalMs
}
