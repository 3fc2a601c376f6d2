/** Watt-hours in one watt-second: energy registers are Wh, power is W, samples are seconds. */
export const WH_PER_W_S = 1 / 3600

/** Rounds to `decimals` places, as a meter display would; monotone, so registers stay monotone. */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(value * f) / f
}

/**
 * Energy registers are published to the milliwatt-hour: an AC pile passes 99.5% through, so its grid
 * register leads the four piles' registers by a few hundredths of a Wh per second, and coarser
 * rounding of each could show the grid meter behind what the piles delivered.
 */
export const REGISTER_DECIMALS = 3
