import { createLogger } from '@evmon/runtime'

/** Structured log sink; the service logs JSON lines, tests pass a silent or recording one. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/** The shared pino logger (`@evmon/runtime`) behind ingest's narrower interface. */
export function jsonLogger(name: string, write: ((line: string) => void) | undefined = undefined): Logger {
  const logger = createLogger(name, write ? { write } : {})
  return {
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
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
