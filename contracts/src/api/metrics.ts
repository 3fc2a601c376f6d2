import type { ConnectorStatus } from '../ocpp.ts'
import { OCCUPIED_STATUSES, UNAVAILABLE_STATUSES } from '../ocpp.ts'

// The metric definitions of docs/metrics.md, computed in one place: the API aggregates InfluxDB answers
// with these and the dashboard uses them for anything it derives itself.

/** Charging speed is the mean power between these SoC bounds (inclusive), while power flows. */
export const CHARGING_SPEED_SOC = { minPct: 10, maxPct: 80 } as const

/** Connectors at or above this rating count as supercharging guns in the speed comparison. */
export const SUPERCHARGING_MIN_POWER_W = 350_000

/**
 * A charging port is down (an outage, in uptime) while it cannot deliver energy: Faulted, Unavailable,
 * or SuspendedEVSE — the charger offers no power to a car that is ready to take it (its modules are
 * given to another gun, the site trimmed it, or a start failed). NEVI counts a port as operational only
 * when it can actually deliver power, so a port that is plugged in but offered nothing is not up.
 */
const DOWN_STATUSES: ReadonlySet<ConnectorStatus> = new Set([...UNAVAILABLE_STATUSES, 'SuspendedEVSE'])

/** Time utilisation (时间利用率) counts the time a connector is in this status: energy is flowing. */
export const CHARGING_STATUS: ConnectorStatus = 'Charging'

/** Plugged in but the car takes nothing (it paused, or it is done and still plugged): the idle-fee basis. */
export const IDLE_STATUSES: ReadonlySet<ConnectorStatus> = new Set(['SuspendedEV', 'Finishing'])

/** A speed figure (and any ratio using it) needs at least this many sessions behind it. */
export const MIN_COMPARISON_SESSIONS = 5

export const isOccupied = (status: ConnectorStatus): boolean => OCCUPIED_STATUSES.has(status)
export const isDown = (status: ConnectorStatus): boolean => DOWN_STATUSES.has(status)

/** a ÷ b, or null when b is not positive (no grid energy, no time). */
export const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null)

/**
 * What a station can deliver at once, W: DC guns share the cabinet, so min(cabinet, Σ DC guns); AC piles
 * have no cabinet, so Σ AC piles. Null for a kind the station has none of.
 */
export function stationCapacityW(
  cabinetMaxPowerW: number | null,
  guns: ReadonlyArray<{ kind: 'dc' | 'ac'; maxPowerW: number }>,
): { dc: number | null; ac: number | null } {
  const sum = (kind: 'dc' | 'ac') => {
    const rated = guns.filter((g) => g.kind === kind)
    return rated.length === 0 ? null : rated.reduce((s, g) => s + g.maxPowerW, 0)
  }
  const dc = sum('dc')
  return { dc: dc === null || cabinetMaxPowerW === null ? dc : Math.min(cabinetMaxPowerW, dc), ac: sum('ac') }
}

/** Energy utilisation: energy delivered ÷ (capacity × time). */
export const energyUtilisation = (energyWh: number, maxPowerW: number, durationMs: number): number | null =>
  ratio(energyWh, (maxPowerW * durationMs) / 3_600_000)

/**
 * Uptime in the spirit of US NEVI (23 CFR 680.116(b)): (period − (outage − excluded outage)) ÷ period.
 * Excluded outage is outage time inside declared excluded windows (scheduled maintenance, a grid outage).
 */
export const uptime = (periodMs: number, outageMs: number, excludedMs: number): number | null =>
  ratio(periodMs - (outageMs - excludedMs), periodMs)

/** Conversion efficiency while charging: Σ power_w ÷ Σ (grid_power_w − aux_power_w). */
export const conversionEfficiency = (sumPowerW: number, sumGridW: number, sumAuxW: number): number | null =>
  ratio(sumPowerW, sumGridW - sumAuxW)
