import type { LiveSnapshot } from '@evmon/contracts'

// The live stream's wire rules, apart from the sockets and timers that use them.

/**
 * The snapshot in a live stream text frame, or null for anything else: a frame that is not JSON or
 * a message type this dashboard does not know (a newer API may add some) is skipped, not fatal.
 */
export function parseStreamMessage(text: unknown): LiveSnapshot | null {
  if (typeof text !== 'string') return null
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return null
  }
  if (typeof message !== 'object' || message === null) return null
  const { type, data } = message as { type?: unknown; data?: unknown }
  return type === 'snapshot' && isSnapshotLike(data) ? data : null
}

/** Shape check of what the dashboard relies on; the API validates the rest against the contract. */
export function isSnapshotLike(value: unknown): value is LiveSnapshot {
  if (typeof value !== 'object' || value === null) return false
  const { ts, site_power_w, stations } = value as Record<string, unknown>
  return typeof ts === 'number' && typeof site_power_w === 'number' && Array.isArray(stations)
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

/** The live stream's WebSocket URL on this page's origin: wss: under https:, ws: otherwise. */
export function liveSocketUrl(page: { protocol: string; host: string }): string {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${page.host}/api/v1/live/ws`
}
