// The one logger set-up of every Node service: pino, one JSON object per line (the shape log shippers
// expect), levels as words, the level from EVMON_LOG_LEVEL; human-readable through pino-pretty when a
// person watches a terminal and pino-pretty is installed (a development dependency, absent from the
// production image).
import { destination, pino, type Logger } from 'pino'
import { assertNoProblems, envVar, readEnv } from './env.ts'

export type { Logger } from 'pino'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** EVMON_LOG_LEVEL, declared once; every service spreads it into its own declarations. */
export const logEnv = {
  logLevel: envVar.oneOf('EVMON_LOG_LEVEL', 'info', 'log level (pino)', LOG_LEVELS),
}

export interface LoggerOptions {
  /** Default: EVMON_LOG_LEVEL from `env`. */
  level?: LogLevel
  env?: Record<string, string | undefined>
  /** Where lines go: stderr keeps stdout free for data (the simulator's dry run). Default stdout. */
  to?: 'stdout' | 'stderr'
  /** Receives each JSON line instead of a file descriptor (tests). */
  write?: (line: string) => void
}

/** A pino logger named after the service; an invalid EVMON_LOG_LEVEL throws a ConfigError. */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? readLogLevel(name, options.env ?? process.env)
  const base = { name, level, formatters: { level: (label: string) => ({ level: label }) } }
  if (options.write) return pino(base, { write: options.write })
  const fd = options.to === 'stderr' ? 2 : 1
  const tty = fd === 2 ? process.stderr.isTTY : process.stdout.isTTY
  if (tty && hasPretty()) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: fd } } })
  }
  return pino(base, destination(fd))
}

function readLogLevel(service: string, env: Record<string, string | undefined>): LogLevel {
  const { values, problems } = readEnv(logEnv, env)
  assertNoProblems(service, problems)
  return values.logLevel
}

function hasPretty(): boolean {
  try {
    import.meta.resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

/**
 * A service's configuration read at start-up: a bad one is logged as fatal with every problem, and the
 * process exits with 2 (a configuration error, not a crash).
 */
export function configOrExit<T>(logger: Logger, load: () => T): T {
  try {
    return load()
  } catch (err) {
    logger.fatal((err as Error).message)
    process.exit(2)
  }
}
