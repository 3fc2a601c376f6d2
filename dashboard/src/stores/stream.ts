import type { LiveDelta, LiveSiteTotals, LiveSnapshot, LiveStation } from '@evmon/contracts'

// The live stream's wire rules, apart from the sockets and timers that use them.

/**
 * What the dashboard holds of the live view: the snapshot plus the API's per-site totals (grid
 * limit, headroom). An API that sends no totals yields an empty `sites`.
 */
export interface LiveState extends LiveSnapshot {
  sites: LiveSiteTotals[]
}

/** A frame the dashboard understands: a whole view, or the stations that changed since the last one. */
export type StreamFrame = { type: 'snapshot'; data: LiveState } | { type: 'delta'; data: LiveDelta }

/**
 * The frame in a live stream text message, or null for anything else: a message that is not JSON or a
 * type this dashboard does not know (a newer API may add some) is skipped, not fatal.
 */
export function parseStreamMessage(text: unknown): StreamFrame | null {
  if (typeof text !== 'string') return null
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof message !== 'object' || message === null) return null
  const { type, data } = message as { type?: unknown; data?: unknown }
  if (!isSnapshotLike(data)) return null
  if (type === 'snapshot') return { type, data: toLiveState(data) }
  if (type === 'delta' && Array.isArray((data as { removed?: unknown }).removed)) {
    return { type, data: { ...toLiveState(data), removed: (data as LiveDelta).removed } }
  }
  return null
}

/** Shape check of what the dashboard relies on; the API validates the rest against the contract. */
export function isSnapshotLike(value: unknown): value is LiveSnapshot {
  if (typeof value !== 'object' || value === null) return false
  const { ts, site_power_w, stations } = value as Record<string, unknown>
  return typeof ts === 'number' && typeof site_power_w === 'number' && Array.isArray(stations)
}

/** A snapshot as live state, with the site totals it carries (none from an older API). */
export function toLiveState(snapshot: LiveSnapshot & { sites?: unknown }): LiveState {
  return { ...snapshot, sites: Array.isArray(snapshot.sites) ? (snapshot.sites as LiveSiteTotals[]) : [] }
}

const stationKey = (s: { site: string; station: string }) => `${s.site}/${s.station}`

/**
 * The state after a delta: changed stations replaced in place (so cards keep their order), new ones
 * appended, removed ones dropped; totals and time are the delta's.
 */
export function applyDelta(current: LiveState, delta: LiveDelta): LiveState {
  const changed = new Map<string, LiveStation>(delta.stations.map((s) => [stationKey(s), s]))
  const removed = new Set(delta.removed.map(stationKey))
  const stations: LiveStation[] = []
  for (const station of current.stations) {
    const key = stationKey(station)
    if (removed.has(key)) continue
    stations.push(changed.get(key) ?? station)
    changed.delete(key)
  }
  stations.push(...changed.values())
  return { ts: delta.ts, site_power_w: delta.site_power_w, sites: delta.sites, stations }
}

export const RECONNECT = {
  firstDelayMs: 500, // a restarting API is usually back within a second
  maxDelayMs: 15_000, // polling covers the wait, so a slow retry costs nothing visible
}

/**
 * Delay before reconnect attempt `attempt` (0-based): doubling from the first delay up to the cap,
 * then scaled down by up to half at random so that every screen in the building does not reconnect
 * in the same instant after an API restart.
 */
export function reconnectDelayMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RECONNECT.maxDelayMs, RECONNECT.firstDelayMs * 2 ** Math.max(0, attempt))
  return Math.round(ceiling * (1 - random() / 2))
}

/**
 * The live stream's WebSocket URL on this page's origin: wss: under https:, ws: otherwise. Browsers
 * cannot set headers on a WebSocket, so a token travels as the `access_token` query parameter.
 */
export function liveSocketUrl(page: { protocol: string; host: string }, token?: string | null): string {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:'
  const query = token ? `?access_token=${encodeURIComponent(token)}` : ''
  return `${scheme}//${page.host}/api/v1/live/ws${query}`
}
