import type { ReplayControl, ReplayFrame } from '@evmon/contracts'

/** The replay WebSocket URL on this page's origin for one station and range. */
export function replaySocketUrl(
  page: { protocol: string; host: string },
  query: { site: string; station: string; from: number; to: number; speed: number },
  token: string | null,
): string {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:'
  const search = new URLSearchParams({
    site: query.site,
    station: query.station,
    from: String(query.from),
    to: String(query.to),
    speed: String(query.speed),
  })
  if (token) search.set('access_token', token)
  return `${scheme}//${page.host}/api/v1/replay/ws?${search}`
}

/** A replay frame from a text message, or null for anything this dashboard does not know. */
export function parseReplayFrame(text: unknown): ReplayFrame | null {
  if (typeof text !== 'string') return null
  try {
    const frame = JSON.parse(text) as { type?: unknown }
    if (frame === null || typeof frame !== 'object') return null
    return ['message', 'state', 'end', 'error'].includes(frame.type as string) ? (frame as ReplayFrame) : null
  } catch {
    return null
  }
}

export function controlMessage(control: ReplayControl): string {
  return JSON.stringify(control)
}
