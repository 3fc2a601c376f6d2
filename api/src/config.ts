import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The checkout's root: relative paths in the config resolve against it, whatever npm's working directory. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(REPO_ROOT, path))

/** API defaults (DESIGN.md "Defaults"); each is overridable by the EVMON_* variable named beside it. */
export const apiDefaults = {
  httpHost: '127.0.0.1', // EVMON_HTTP_HOST: API and dashboard listener address
  httpPort: 8080, // EVMON_HTTP_PORT: 0 picks a free port (tests)
  mqttUrl: 'mqtt://127.0.0.1:1883', // EVMON_MQTT_URL: the broker, for the live view
  influxUrl: 'http://127.0.0.1:8086', // EVMON_INFLUX_URL: InfluxDB 1.x HTTP API (/query only)
  influxDb: 'evmon', // EVMON_INFLUX_DB: database the ingest writes to
  sampleIntervalMs: 1_000, // EVMON_SAMPLE_INTERVAL_MS: one telemetry message per station per period
  dashboardDir: 'dashboard/dist', // EVMON_DASHBOARD_DIR: built dashboard, relative to the repository root
  logLevel: 'info', // EVMON_LOG_LEVEL: pino level; `silent` in tests
  corsOrigins: '', // EVMON_CORS_ORIGINS: comma-separated origins allowed cross-origin; none by default
  publicRateLimitPerMin: 120, // EVMON_RATE_LIMIT_PUBLIC: requests per minute per client address on public routes
  tokenRateLimitPerMin: 1_200, // EVMON_RATE_LIMIT_TOKEN: requests per minute per token on operator/engineer routes
  sitesDir: 'config/sites', // EVMON_SITES_DIR: site files (grid limit, time zone, vehicle curves, connectors)
  tariffFile: 'config/tariffs/chongqing.json', // EVMON_TARIFF_FILE: time-of-use tariff and service fee
} as const

/** Roles a bearer token can carry; an engineer may do everything an operator may. */
export const ROLES = ['operator', 'engineer'] as const
export type Role = (typeof ROLES)[number]

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/** Validated, frozen API configuration; see {@link apiDefaults} for the meaning of each entry. */
export interface ApiConfig {
  httpHost: string
  httpPort: number
  mqttUrl: string
  mqttUsername?: string
  mqttPassword?: string
  influxUrl: string
  influxDb: string
  influxUsername?: string
  influxPassword?: string
  sampleIntervalMs: number
  /** Absolute path. */
  dashboardDir: string
  logLevel: (typeof LOG_LEVELS)[number]
  /** sha256 (hex) of each accepted bearer token → its role; from EVMON_API_TOKENS and EVMON_API_TOKEN_FILE. */
  tokens: ReadonlyMap<string, Role>
  corsOrigins: string[]
  publicRateLimitPerMin: number
  tokenRateLimitPerMin: number
  /** Absolute paths. */
  sitesDir: string
  tariffFile: string
}

/** Thrown by {@link loadConfig}; `problems` names every bad variable, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(readonly problems: string[]) {
    super(`invalid api configuration:\n  ${problems.join('\n  ')}`)
  }
}

type Env = Record<string, string | undefined>

/** Reads variables and collects every problem, so one start reports them all. */
class Reader {
  readonly problems: string[] = []
  constructor(private readonly env: Env) {}

  optional(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value === '' ? undefined : value
  }

  string(name: string, fallback: string, pattern?: RegExp, hint?: string): string {
    const value = this.optional(name) ?? fallback
    if (pattern && !pattern.test(value)) this.problems.push(`${name}=${JSON.stringify(value)} ${hint}`)
    return value
  }

  oneOf<T extends string>(name: string, fallback: T, values: readonly T[]): T {
    const value = this.optional(name) ?? fallback
    if ((values as readonly string[]).includes(value)) return value as T
    this.problems.push(`${name}=${JSON.stringify(value)} is not one of ${values.join(', ')}`)
    return fallback
  }

  url(name: string, fallback: string, protocols: readonly string[]): string {
    const value = this.optional(name) ?? fallback
    let url: URL
    try {
      url = new URL(value)
    } catch {
      this.problems.push(`${name}=${JSON.stringify(value)} is not a URL`)
      return value
    }
    if (!protocols.includes(url.protocol)) {
      this.problems.push(`${name}=${JSON.stringify(value)} must use ${protocols.join(' or ')}`)
    }
    return value
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.optional(name)
    if (raw === undefined) return fallback
    const value = /^\d+$/.test(raw) ? Number(raw) : NaN
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`)
      return fallback
    }
    return value
  }

  /**
   * `role:sha256hex` entries separated by commas or newlines. Only hashes are configured, so a leaked
   * environment or file does not leak a usable token.
   */
  tokens(name: string, text: string | undefined, into: Map<string, Role>): void {
    if (text === undefined) return
    for (const entry of text.split(/[,\n]/).map((e) => e.trim())) {
      if (entry === '' || entry.startsWith('#')) continue
      const match = /^([a-z]+):([0-9a-f]{64})$/.exec(entry)
      if (match === null || !(ROLES as readonly string[]).includes(match[1] as string)) {
        this.problems.push(
          `${name} entry ${JSON.stringify(entry.slice(0, 12))}… must be <${ROLES.join('|')}>:<sha256 hex>`,
        )
        continue
      }
      into.set(match[2] as string, match[1] as Role)
    }
  }

  file(name: string): string | undefined {
    const path = this.optional(name)
    if (path === undefined) return undefined
    try {
      return readFileSync(absolute(path), 'utf8')
    } catch (err) {
      this.problems.push(`${name}=${JSON.stringify(path)} cannot be read: ${(err as Error).message}`)
      return undefined
    }
  }

  /** A password without its user name is a configuration mistake, not "no authentication". */
  credentials(userVar: string, passwordVar: string): { username?: string; password?: string } {
    const username = this.optional(userVar)
    const password = this.optional(passwordVar)
    if (password !== undefined && username === undefined) {
      this.problems.push(`${passwordVar} is set but ${userVar} is not`)
    }
    return { ...(username !== undefined && { username }), ...(password !== undefined && { password }) }
  }
}

/**
 * Reads the API configuration from `env` once, validates every variable and returns it frozen.
 * Throws a {@link ConfigError} listing every bad variable at once.
 */
export function loadConfig(env: Env): Readonly<ApiConfig> {
  const read = new Reader(env)
  const mqtt = read.credentials('EVMON_MQTT_USERNAME', 'EVMON_MQTT_PASSWORD')
  const influx = read.credentials('EVMON_INFLUX_USERNAME', 'EVMON_INFLUX_PASSWORD')
  const dashboardDir = read.string('EVMON_DASHBOARD_DIR', apiDefaults.dashboardDir)
  const tokens = new Map<string, Role>()
  read.tokens('EVMON_API_TOKENS', read.optional('EVMON_API_TOKENS'), tokens)
  read.tokens('EVMON_API_TOKEN_FILE', read.file('EVMON_API_TOKEN_FILE'), tokens)
  const origins = read.string('EVMON_CORS_ORIGINS', apiDefaults.corsOrigins)
  const corsOrigins = origins
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      read.problems.push(`EVMON_CORS_ORIGINS origin ${JSON.stringify(origin)} must be scheme://host[:port]`)
  }
  const config: ApiConfig = {
    httpHost: read.string('EVMON_HTTP_HOST', apiDefaults.httpHost, /^\S+$/, 'must be a host name or address'),
    httpPort: read.integer('EVMON_HTTP_PORT', apiDefaults.httpPort, 0, 65_535),
    mqttUrl: read.url('EVMON_MQTT_URL', apiDefaults.mqttUrl, ['mqtt:', 'mqtts:', 'tcp:', 'ws:', 'wss:']),
    ...(mqtt.username !== undefined && { mqttUsername: mqtt.username }),
    ...(mqtt.password !== undefined && { mqttPassword: mqtt.password }),
    influxUrl: read.url('EVMON_INFLUX_URL', apiDefaults.influxUrl, ['http:', 'https:']),
    influxDb: read.string(
      'EVMON_INFLUX_DB',
      apiDefaults.influxDb,
      /^[A-Za-z0-9_-]{1,64}$/,
      'must be 1-64 letters, digits, _ or -',
    ),
    ...(influx.username !== undefined && { influxUsername: influx.username }),
    ...(influx.password !== undefined && { influxPassword: influx.password }),
    sampleIntervalMs: read.integer('EVMON_SAMPLE_INTERVAL_MS', apiDefaults.sampleIntervalMs, 100, 3_600_000),
    dashboardDir: absolute(dashboardDir),
    logLevel: read.oneOf('EVMON_LOG_LEVEL', apiDefaults.logLevel, LOG_LEVELS),
    tokens,
    corsOrigins,
    publicRateLimitPerMin: read.integer(
      'EVMON_RATE_LIMIT_PUBLIC',
      apiDefaults.publicRateLimitPerMin,
      1,
      10_000_000,
    ),
    tokenRateLimitPerMin: read.integer(
      'EVMON_RATE_LIMIT_TOKEN',
      apiDefaults.tokenRateLimitPerMin,
      1,
      10_000_000,
    ),
    sitesDir: absolute(read.string('EVMON_SITES_DIR', apiDefaults.sitesDir)),
    tariffFile: absolute(read.string('EVMON_TARIFF_FILE', apiDefaults.tariffFile)),
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return Object.freeze(config)
}
