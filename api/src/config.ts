import { type ExcludedWindow } from '@evmon/contracts'
import {
  assertNoProblems,
  envVar,
  influxEnv,
  logEnv,
  mqttClientEnv,
  readEnv,
  sampleIntervalEnv,
  type LogLevel,
} from '@evmon/runtime'
import { readFileSync, statSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseExcludedTime } from './analytics/excluded-time.ts'

/** The checkout's root: relative paths in the config resolve against it, whatever npm's working directory. */
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const absolute = (path: string): string => (isAbsolute(path) ? path : resolve(REPO_ROOT, path))

/** Roles a bearer token can carry; an engineer may do everything an operator may. */
export const ROLES = ['operator', 'engineer'] as const
export type Role = (typeof ROLES)[number]

/** Validated, frozen API configuration; see {@link apiEnv} for the meaning of each entry. */
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
  logLevel: LogLevel
  /** sha256 (hex) of each accepted bearer token → its role; from EVMON_API_TOKENS and EVMON_API_TOKEN_FILE. */
  tokens: ReadonlyMap<string, Role>
  corsOrigins: string[]
  publicRateLimitPerMin: number
  tokenRateLimitPerMin: number
  /** Absolute paths. */
  sitesDir: string
  /** Absolute path; undefined: alerts are kept in memory only. */
  alertsFile?: string
  /** Declared excluded time for uptime, from EVMON_API_EXCLUDED_TIME_FILE (empty when unset). */
  excludedTime: readonly ExcludedWindow[]
}

export { ConfigError } from '@evmon/runtime'

/**
 * `role:sha256hex` entries separated by commas or newlines (`#` starts a comment line). Only hashes
 * are configured, so a leaked environment or file does not leak a usable token. A bad entry is quoted
 * by its first 12 characters only, in case it is a token itself.
 */
function parseTokens(text: string): Map<string, Role> {
  const tokens = new Map<string, Role>()
  const bad: string[] = []
  for (const entry of text.split(/[,\n]/).map((e) => e.trim())) {
    if (entry === '' || entry.startsWith('#')) continue
    const match = /^([a-z]+):([0-9a-f]{64})$/.exec(entry)
    if (match === null || !(ROLES as readonly string[]).includes(match[1] as string)) {
      bad.push(`${JSON.stringify(entry.slice(0, 12))}…`)
      continue
    }
    tokens.set(match[2] as string, match[1] as Role)
  }
  if (bad.length > 0) {
    throw new Error(
      `${bad.length === 1 ? 'entry' : 'entries'} ${bad.join(', ')} must be <${ROLES.join('|')}>:<sha256 hex>`,
    )
  }
  return tokens
}

/** The alerts file need not exist yet (the first save creates it), but a directory in its place is a mistake. */
function alertsFileProblem(path: string): string | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ? 'is a directory, not a file' : undefined
  } catch (err) {
    return `cannot be used: ${(err as Error).message}`
  }
}

/**
 * The API's variables and defaults (docs/design.md "Defaults"); the README table and `.env.example` are
 * generated from them (`npm run docs:env`). Relative paths resolve against the repository root.
 */
export const apiEnv = {
  httpHost: envVar.string(
    'EVMON_HTTP_HOST',
    '127.0.0.1',
    'address the API and dashboard listen on',
    /^\S+$/,
    'must be a host name or address',
  ),
  httpPort: envVar.port('EVMON_HTTP_PORT', 8080, 'port of the API and dashboard; 0 picks a free port'),
  ...mqttClientEnv,
  ...influxEnv,
  ...sampleIntervalEnv,
  dashboardDir: envVar.string('EVMON_DASHBOARD_DIR', 'dashboard/dist', 'built dashboard to serve at `/`'),
  ...logEnv,
  tokens: envVar.custom(
    'EVMON_API_TOKENS',
    undefined,
    'operator/engineer bearer tokens as `role:sha256hex`, comma-separated (`npm start` adds a fresh ' +
      'engineer token each run and prints it)',
    parseTokens,
    { secret: true },
  ),
  tokenFile: envVar.string(
    'EVMON_API_TOKEN_FILE',
    undefined,
    'file of `role:sha256hex` lines (`#` comments), merged with `EVMON_API_TOKENS`',
  ),
  corsOrigins: envVar.list(
    'EVMON_CORS_ORIGINS',
    [],
    'origins allowed cross-origin (`scheme://host[:port]`, comma-separated); none by default',
    /^https?:\/\/[^/\s]+$/,
    'must be scheme://host[:port]',
  ),
  publicRateLimitPerMin: envVar.int(
    'EVMON_RATE_LIMIT_PUBLIC',
    120,
    'requests per minute per client address on public routes',
    1,
    10_000_000,
  ),
  tokenRateLimitPerMin: envVar.int(
    'EVMON_RATE_LIMIT_TOKEN',
    1_200,
    'requests per minute per valid token on operator/engineer routes',
    1,
    10_000_000,
  ),
  sitesDir: envVar.string(
    'EVMON_SITES_DIR',
    'config/sites',
    'site files (grid limit, time zone, tariff, vehicle curves, connectors)',
  ),
  alertsFile: envVar.string(
    'EVMON_API_ALERTS_FILE',
    undefined,
    'file keeping alerts (open ones, history, acknowledgements) across restarts; one that cannot be ' +
      'used is renamed `<file>.corrupt-<time>` and the API starts with none; unset: memory only',
    /[^/]$/,
    'must be a file path, not a directory',
  ),
  excludedTimeFile: envVar.string(
    'EVMON_API_EXCLUDED_TIME_FILE',
    undefined,
    'declared excluded time for availability (uptime): a JSON array of `{site, station?, from, to, reason}` ' +
      '(reason: maintenance, grid_outage, vandalism, disaster, vehicle); read at start; unset: none',
  ),
}

/**
 * Reads the API configuration from `env` once, validates every variable and returns it frozen.
 * Throws a {@link ConfigError} listing every bad variable at once.
 */
export function loadConfig(env: Record<string, string | undefined>): Readonly<ApiConfig> {
  const { values: v, problems } = readEnv(apiEnv, env)
  // A password without its user name is a configuration mistake, not "no authentication".
  if (v.mqttPassword !== undefined && v.mqttUsername === undefined)
    problems.push('EVMON_MQTT_PASSWORD is set but EVMON_MQTT_USERNAME is not')
  if (v.influxPassword !== undefined && v.influxUsername === undefined)
    problems.push('EVMON_INFLUX_PASSWORD is set but EVMON_INFLUX_USERNAME is not')
  const tokens = new Map<string, Role>(v.tokens)
  if (v.tokenFile !== undefined) {
    const where = `EVMON_API_TOKEN_FILE=${JSON.stringify(v.tokenFile)}`
    let text: string | undefined
    try {
      text = readFileSync(absolute(v.tokenFile), 'utf8')
    } catch (err) {
      problems.push(`${where} cannot be read: ${(err as Error).message}`)
    }
    if (text !== undefined) {
      try {
        for (const [hash, role] of parseTokens(text)) tokens.set(hash, role)
      } catch (err) {
        problems.push(`${where} ${(err as Error).message}`)
      }
    }
  }
  if (v.alertsFile !== undefined) {
    const problem = alertsFileProblem(absolute(v.alertsFile))
    if (problem !== undefined)
      problems.push(`EVMON_API_ALERTS_FILE=${JSON.stringify(v.alertsFile)} ${problem}`)
  }
  let excludedTime: ExcludedWindow[] = []
  if (v.excludedTimeFile !== undefined) {
    const where = `EVMON_API_EXCLUDED_TIME_FILE=${JSON.stringify(v.excludedTimeFile)}`
    try {
      excludedTime = parseExcludedTime(readFileSync(absolute(v.excludedTimeFile), 'utf8'))
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`)
    }
  }
  assertNoProblems('api', problems)
  return Object.freeze({
    httpHost: v.httpHost,
    httpPort: v.httpPort,
    mqttUrl: v.mqttUrl,
    ...(v.mqttUsername !== undefined && { mqttUsername: v.mqttUsername }),
    ...(v.mqttPassword !== undefined && { mqttPassword: v.mqttPassword }),
    influxUrl: v.influxUrl,
    influxDb: v.influxDb,
    ...(v.influxUsername !== undefined && { influxUsername: v.influxUsername }),
    ...(v.influxPassword !== undefined && { influxPassword: v.influxPassword }),
    sampleIntervalMs: v.sampleIntervalMs,
    dashboardDir: absolute(v.dashboardDir),
    logLevel: v.logLevel,
    tokens,
    corsOrigins: [...v.corsOrigins],
    publicRateLimitPerMin: v.publicRateLimitPerMin,
    tokenRateLimitPerMin: v.tokenRateLimitPerMin,
    sitesDir: absolute(v.sitesDir),
    ...(v.alertsFile !== undefined && { alertsFile: absolute(v.alertsFile) }),
    excludedTime,
  })
}
