/** A curve given by breakpoints `[x, y]`, sorted by ascending x. */
export type Breakpoints = ReadonlyArray<readonly [x: number, y: number]>

/**
 * Linear interpolation between breakpoints; outside the first and last x the curve stays flat, so a
 * sparse calibration table never extrapolates into nonsense (negative power, efficiency above 1).
 */
export function interpolate(points: Breakpoints, x: number): number {
  const first = points[0]
  if (first === undefined) throw new Error('a curve needs at least one breakpoint')
  if (x <= first[0]) return first[1]
  for (let i = 1; i < points.length; i++) {
    const [x1, y1] = points[i] as readonly [number, number]
    if (x <= x1) {
      const [x0, y0] = points[i - 1] as readonly [number, number]
      return y0 + ((y1 - y0) * (x - x0)) / (x1 - x0)
    }
  }
  return (points.at(-1) as readonly [number, number])[1]
}
