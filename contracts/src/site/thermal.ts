/**
 * Thermal limits of the site's liquid-cooled guns, measured at the contacts: full current up to
 * `DERATE_START_C`, falling linearly to 0 A at `DERATE_ZERO_C`. The simulator derates with them, the
 * API raises its high-temperature alert at the start of derating and the dashboard draws its gauge
 * against them, so they live here once.
 */
export const DERATE_START_C = 80
export const DERATE_ZERO_C = 90

/** Share (0–1) of a gun's rated current the derating leaves at contact temperature `contactC`. */
export function derateShare(contactC: number): number {
  return Math.min(1, Math.max(0, (DERATE_ZERO_C - contactC) / (DERATE_ZERO_C - DERATE_START_C)))
}
