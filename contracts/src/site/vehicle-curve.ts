import { interpolate, type Breakpoints } from './piecewise-linear.ts'

/** A vehicle's DC charging curve as the site file gives it: power the warm battery accepts by SoC. */
export type DcCurve = ReadonlyArray<{ readonly socPct: number; readonly powerKw: number }>

/**
 * The curve as a function of SoC in watts, linear between its points and flat outside: the one reading
 * of a charging curve, which the simulator charges cars by and the API estimates drivers' times with.
 */
export function dcCurveW(curve: DcCurve): (socPct: number) => number {
  const points: Breakpoints = curve.map((p) => [p.socPct, p.powerKw * 1000] as const)
  if (points.length === 0) return () => 0
  return (socPct) => interpolate(points, socPct)
}
