import type { ConnectorStatus } from '@evmon/contracts'
import type { MessageKey } from './i18n/messages.ts'

/** How a connector status reads at a glance; the colour follows the tone. */
export type StatusTone = 'available' | 'charging' | 'busy' | 'fault' | 'off'

export interface StatusView {
  tone: StatusTone
  /** The status's name in the message catalogue. */
  labelKey: MessageKey
  /** The tone's colour in the dark theme, for canvases and the legend. */
  color: string
  /** The tone as a CSS custom property, which the light theme darkens for contrast on white. */
  cssColor: string
  /** Value for the row's `data-status`: the OCPP status, or `Offline` / `Unknown`. */
  key: ConnectorStatus | 'Offline' | 'Unknown'
}

export const TONE_COLORS: Readonly<Record<StatusTone, string>> = {
  available: '#22c55e',
  charging: '#3b82f6',
  busy: '#f59e0b',
  fault: '#ef4444',
  off: '#6b7280',
}

const TONES: Readonly<Record<ConnectorStatus, StatusTone>> = {
  Available: 'available',
  Charging: 'charging',
  Preparing: 'busy',
  Finishing: 'busy',
  SuspendedEV: 'busy',
  SuspendedEVSE: 'busy',
  // Reserved: not free for a walk-up driver, but nothing is wrong either — the same tone as the
  // in-between states.
  Reserved: 'busy',
  Faulted: 'fault',
  Unavailable: 'off',
}

function view(tone: StatusTone, key: StatusView['key']): StatusView {
  return { tone, labelKey: `status.${key}`, color: TONE_COLORS[tone], cssColor: `var(--tone-${tone})`, key }
}

/**
 * The view of a connector's status. An offline station's last reported statuses are not trusted:
 * its connectors all read as offline. `null` means the API has not seen a status yet.
 */
export function statusView(status: ConnectorStatus | null, stationOnline = true): StatusView {
  if (!stationOnline) return view('off', 'Offline')
  if (status === null) return view('off', 'Unknown')
  return view(TONES[status], status)
}

/** Health of a station's feed, for its card badge. */
export type StationHealth = 'online' | 'stale' | 'offline'

export function stationHealth(station: { online: boolean; stale: boolean }): StationHealth {
  if (!station.online) return 'offline'
  return station.stale ? 'stale' : 'online'
}
