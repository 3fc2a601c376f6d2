import { ExcludedWindow, TIME_PATTERN, isValidId } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'

// Declared excluded time (NEVI's "excluded" outage: scheduled maintenance, a utility outage, …) kept in
// a file an operator edits, applied to every uptime figure of the sites and stations it names.

const TIME = new RegExp(TIME_PATTERN)

const time = (v: unknown, where: string): number => {
  const text = typeof v === 'number' ? String(v) : v
  if (typeof text !== 'string' || !TIME.test(text))
    throw new Error(`${where} must be epoch ms or ISO-8601 with a zone`)
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
  if (!Number.isFinite(ms)) throw new Error(`${where} is not a valid time`)
  return ms
}

/**
 * Parses the excluded-time file: a JSON array of `{site, station?, from, to, reason}` (times as epoch ms
 * or ISO-8601 with a zone). Throws with the first problem and the entry it is in.
 */
export function parseExcludedTime(text: string): ExcludedWindow[] {
  const raw: unknown = JSON.parse(text)
  if (!Array.isArray(raw)) throw new Error('must be a JSON array of {site, station?, from, to, reason}')
  return raw.map((entry: unknown, i) => {
    const where = `entry ${i}`
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>
    if (!isValidId(e.site)) throw new Error(`${where}: site must be a site id`)
    const window = {
      from: time(e.from, `${where}: from`),
      to: time(e.to, `${where}: to`),
      reason: e.reason,
      site: e.site,
      ...(e.station !== undefined && { station: e.station }),
    }
    if (window.to <= window.from) throw new Error(`${where}: ends before it starts`)
    const problem = Value.Errors(ExcludedWindow, window).First()
    if (problem !== undefined)
      throw new Error(`${where}: ${problem.path.slice(1) || 'entry'} ${problem.message}`)
    return window as ExcludedWindow
  })
}
