/**
 * Decimals for an axis label: a small scale (a quiet site at night, the first minutes of data) ticks
 * in fractions, which rounded to whole numbers would print "0, 0, 1, 1".
 */
export function tickDecimals(value: number): number {
  return Number.isInteger(value) || Math.abs(value) >= 10 ? 0 : 1
}
