import type { AvailabilityConnector } from '@evmon/contracts'

// How the driver's page reads the availability answer: pure, so the ordering and wording rules are
// tested without a browser.

/** What a driver needs to know of a connector at a glance. */
export type DriverState = 'free' | 'busy' | 'down'

/** Free; occupied (plugged in, charging, reserved); or out of service (faulted, unavailable, offline). */
export function driverState(connector: AvailabilityConnector): DriverState {
  if (connector.free) return 'free'
  const s = connector.status
  if (s === null || s === 'Faulted' || s === 'Unavailable') return 'down'
  return 'busy'
}

const STATE_ORDER: Readonly<Record<DriverState, number>> = { free: 0, busy: 1, down: 2 }

/**
 * Free connectors first, fastest first; then occupied ones by how soon they free up (unknown last);
 * then those out of service. Within a tie, by station and connector so the list does not jump.
 */
export function sortForDrivers(connectors: readonly AvailabilityConnector[]): AvailabilityConnector[] {
  const speed = (c: AvailabilityConnector) => c.typical_800v_w ?? c.typical_400v_w ?? c.max_power_w ?? 0
  return [...connectors].sort((a, b) => {
    const sa = driverState(a)
    const sb = driverState(b)
    if (sa !== sb) return STATE_ORDER[sa] - STATE_ORDER[sb]
    if (sa === 'free' && speed(a) !== speed(b)) return speed(b) - speed(a)
    if (sa === 'busy') {
      const wa = a.free_in_min ?? Number.POSITIVE_INFINITY
      const wb = b.free_in_min ?? Number.POSITIVE_INFINITY
      if (wa !== wb) return wa - wb
    }
    return a.station.localeCompare(b.station) || a.connector - b.connector
  })
}

/** Free connectors of each kind, for the headline. */
export function freeCounts(connectors: readonly AvailabilityConnector[]): {
  dc: number
  ac: number
  total: number
} {
  let dc = 0
  let ac = 0
  for (const c of connectors) {
    if (!c.free) continue
    if (c.kind === 'ac') ac++
    else dc++
  }
  return { dc, ac, total: dc + ac }
}
