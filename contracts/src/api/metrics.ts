import type { ConnectorStatus } from '../ocpp.ts'
import { OCCUPIED_STATUSES, UNAVAILABLE_STATUSES } from '../ocpp.ts'

// The metric definitions of DESIGN.md, computed in one place: the API aggregates InfluxDB answers with
// these, the dashboard uses them for anything it derives itself, and tests compute expectations with them.

/** Charging speed is the mean power between these SoC bounds (inclusive), while power flows. */
export const CHARGING_SPEED_SOC = { minPct: 10, maxPct: 80 } as const

/** Connectors at or above this rating count as supercharging guns in the speed comparison. */
export const SUPERCHARGING_MIN_POWER_W = 350_000

export const isOccupied = (status: ConnectorStatus): boolean => OCCUPIED_STATUSES.has(status)
export const isInService = (status: ConnectorStatus): boolean => !UNAVAILABLE_STATUSES.has(status)

/** True when a sample counts towards charging speed. */
export function isChargingSpeedSample(powerW: number, socPct: number | null | undefined): boolean {
  return (
    powerW > 0 &&
    socPct !== null &&
    socPct !== undefined &&
    socPct >= CHARGING_SPEED_SOC.minPct &&
    socPct <= CHARGING_SPEED_SOC.maxPct
  )
}

/** a ÷ b, or null when b is not positive (no grid energy, no time). */
export const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null)

/** Energy utilisation: energy delivered ÷ (max power × time). */
export const energyUtilisation = (energyWh: number, maxPowerW: number, durationMs: number): number | null =>
  ratio(energyWh, (maxPowerW * durationMs) / 3_600_000)

/** A mean with its weight, so means of different sizes combine correctly. */
export interface WeightedMean {
  mean: number
  count: number
}

/** The mean of several means weighted by their counts; null when nothing was counted. */
export function combineMeans(parts: readonly WeightedMean[]): number | null {
  let sum = 0
  let count = 0
  for (const p of parts) {
    sum += p.mean * p.count
    count += p.count
  }
  return count > 0 ? sum / count : null
}

/** Conversion efficiency while charging: Σ power_w ÷ Σ (grid_power_w − aux_power_w). */
export const conversionEfficiency = (sumPowerW: number, sumGridW: number, sumAuxW: number): number | null =>
  ratio(sumPowerW, sumGridW - sumAuxW)
