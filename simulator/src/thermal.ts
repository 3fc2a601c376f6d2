import { derateShare, type LiquidCooling } from '@evmon/contracts/site'

/**
 * Moves `current` toward `target` as a first-order lag with time constant `tauS` over `dtS` seconds.
 * Uses the exact exponential solution, so it stays stable for any sample period.
 */
export function firstOrderLag(current: number, target: number, dtS: number, tauS: number): number {
  return target + (current - target) * Math.exp(-dtS / tauS)
}

/** Temperatures of a liquid-cooled gun. */
export interface GunTemperatures {
  /** Hottest point: the contacts, which derating watches. */
  contactC: number
  coolantC: number
}

/**
 * Advances a liquid-cooled gun by `dtS` at `currentA`: the cable and contacts dissipate I²R into the
 * coolant, the coolant rejects it to ambient, each with its own lag. A failed pump or fan multiplies
 * the coolant's thermal resistance to ambient by `coolingFactor` (1 when the loop works).
 */
export function stepLiquidGun(
  state: GunTemperatures,
  cooling: LiquidCooling,
  currentA: number,
  ambientC: number,
  dtS: number,
  coolingFactor = 1,
): GunTemperatures {
  const heatW = currentA * currentA * (cooling.resistanceMilliohm / 1000)
  const coolantTarget = ambientC + heatW * cooling.coolantToAmbientKPerW * coolingFactor
  const coolantC = firstOrderLag(state.coolantC, coolantTarget, dtS, cooling.coolantTimeConstantS)
  const contactTarget = coolantC + heatW * cooling.contactToCoolantKPerW
  const contactC = firstOrderLag(state.contactC, contactTarget, dtS, cooling.contactTimeConstantS)
  return { contactC, coolantC }
}

/** Current a hot gun may still carry under the site's derating limits. */
export function deratedCurrentA(maxCurrentA: number, contactC: number): number {
  return maxCurrentA * derateShare(contactC)
}
