import type { ConnectorStatus } from '@evmon/contracts'

/** How a connector status reads at a glance; the colour follows the tone. */
export type StatusTone = 'available' | 'charging' | 'busy' | 'fault' | 'off'

export interface StatusView {
  tone: StatusTone
  label: string
  /** CSS colour for the tone. */
  color: string
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

const VIEWS: Readonly<Record<ConnectorStatus, { tone: StatusTone; label: string }>> = {
  Available: { tone: 'available', label: 'Available' },
  Charging: { tone: 'charging', label: 'Charging' },
  Preparing: { tone: 'busy', label: 'Preparing' },
  Finishing: { tone: 'busy', label: 'Finishing' },
  SuspendedEV: { tone: 'busy', label: 'Suspended (EV)' },
  SuspendedEVSE: { tone: 'busy', label: 'Suspended (charger)' },
  // Reserved: not free for a walk-up driver, but nothing is wrong either — the same tone as the
  // in-between states.
  Reserved: { tone: 'busy', label: 'Reserved' },
  Faulted: { tone: 'fault', label: 'Faulted' },
  Unavailable: { tone: 'off', label: 'Unavailable' },
}

/**
 * The view of a connector's status. An offline station's last reported statuses are not trusted:
 * its connectors all read as offline. `null` means the API has not seen a status yet.
 */
export function statusView(status: ConnectorStatus | null, stationOnline = true): StatusView {
  if (!stationOnline) return { tone: 'off', label: 'Offline', color: TONE_COLORS.off, key: 'Offline' }
  if (status === null) return { tone: 'off', label: 'Unknown', color: TONE_COLORS.off, key: 'Unknown' }
  const { tone, label } = VIEWS[status]
  return { tone, label, color: TONE_COLORS[tone], key: status }
}

/** Health of a station's feed, for its card badge. */
export type StationHealth = 'online' | 'stale' | 'offline'

export function stationHealth(station: { online: boolean; stale: boolean }): StationHealth {
  if (!station.online) return 'offline'
  return station.stale ? 'stale' : 'online'
}
