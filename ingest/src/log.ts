import { pino } from 'pino'

/** Structured log sink; the service logs JSON lines, tests pass a silent or recording one. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/**
 * pino underneath: one JSON object per line on stdout (the shape log shippers expect), levels as words;
 * human-readable through pino-pretty when a person is watching a terminal and it is installed.
 */
export function jsonLogger(name: string, write: ((line: string) => void) | undefined = undefined): Logger {
  const options = {
    name,
    level: process.env.EVMON_LOG_LEVEL || 'info',
    formatters: { level: (label: string) => ({ level: label }) },
  }
  const logger = write
    ? pino(options, { write })
    : pino({
        ...options,
        ...(process.stdout.isTTY && hasPretty() ? { transport: { target: 'pino-pretty' } } : {}),
      })
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  }
}

/** pino-pretty is a development dependency: absent from the production image. */
function hasPretty(): boolean {
  try {
    import.meta.resolve('pino-pretty')
    return true
  } catch {
    return false
  }
}

/** Logs nothing; the default for embedded use and tests. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/**
 * Logs at most one line per key per interval and reports how many were suppressed in between: a
 * station sending garbage ten times a second must not drown the log.
 */
export function rateLimited(
  logger: Logger,
  intervalMs: number,
  now: () => number = Date.now,
): (key: string, msg: string, fields?: Record<string, unknown>) => void {
  const state = new Map<string, { lastAt: number; suppressed: number }>()
  return (key, msg, fields) => {
    const t = now()
    const entry = state.get(key)
    if (entry && t - entry.lastAt < intervalMs) {
      entry.suppressed++
      return
    }
    const suppressed = entry?.suppressed ?? 0
    state.set(key, { lastAt: t, suppressed: 0 })
    logger.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields)
  }
}
