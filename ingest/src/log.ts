/** Structured log sink; the service logs JSON lines, tests pass a silent or recording one. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/** One JSON object per line on stdout, the shape log shippers expect. */
export function jsonLogger(
  name: string,
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ level, time: Date.now(), name, msg, ...fields })}\n`)
  return { info: log('info'), warn: log('warn'), error: log('error') }
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
