import { DERATE_START_C, derateShare } from '@evmon/contracts/site'
/** Within this many kelvin of the threshold the gauge warns before the gun starts derating. */
const WARN_MARGIN_K = 10
/** The gauge spans ambient to beyond the zero-current point. */
export const GAUGE_MIN_C = 20
export const GAUGE_MAX_C = 95

export type ThermalState = 'normal' | 'warm' | 'derating'

export interface GunThermal {
  state: ThermalState
  /** Position of the reading on the gauge, 0–100. */
  pct: number
  /** Share of the gun's current the derating leaves, 0–1. */
  currentFactor: number
}

/** Where a contact temperature stands against the derating threshold; null when not measured. */
export function gunThermal(tempC: number | null | undefined): GunThermal | null {
  if (tempC == null || !Number.isFinite(tempC)) return null
  const state: ThermalState =
    tempC >= DERATE_START_C ? 'derating' : tempC >= DERATE_START_C - WARN_MARGIN_K ? 'warm' : 'normal'
  return { state, pct: gaugePct(tempC), currentFactor: derateShare(tempC) }
}

/** A temperature's position on the gauge, clamped to 0–100. */
export function gaugePct(tempC: number): number {
  return Math.min(100, Math.max(0, ((tempC - GAUGE_MIN_C) / (GAUGE_MAX_C - GAUGE_MIN_C)) * 100))
}
