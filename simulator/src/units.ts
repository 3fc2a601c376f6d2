/** Watt-hours in one watt-second: energy registers are Wh, power is W, samples are seconds. */
export const WH_PER_W_S = 1 / 3600

/** Rounds to `decimals` places, as a meter display would; monotone, so registers stay monotone. */
export function round(value: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(value * f) / f
}
