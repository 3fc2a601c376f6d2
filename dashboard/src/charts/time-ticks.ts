const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

/** Tick steps a clock axis may use, smallest first. */
const TIME_STEPS_MS = [
  SECOND,
  2 * SECOND,
  5 * SECOND,
  10 * SECOND,
  15 * SECOND,
  30 * SECOND,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  10 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
] as const

/**
 * Tick positions for a time axis over [minMs, maxMs] on a linear scale: at most `maxTicks` ticks on
 * whole multiples of the smallest step that fits, so labels read 12:05:00, 12:10:00 rather than
 * wherever a linear scale's "nice numbers" fall in milliseconds. Multiples are taken in UTC, which
 * lands on whole local minutes and hours for every zone with a whole-hour offset (Asia/Shanghai).
 */
export function timeTicks(minMs: number, maxMs: number, maxTicks: number): number[] {
  if (!Number.isFinite(minMs) || !Number.isFinite(maxMs) || maxMs < minMs) return []
  const limit = Math.max(1, Math.floor(maxTicks))
  const step = TIME_STEPS_MS.find((s) => Math.floor(maxMs / s) - Math.ceil(minMs / s) + 1 <= limit) ?? HOUR
  const ticks: number[] = []
  for (let t = Math.ceil(minMs / step) * step; t <= maxMs && ticks.length < limit; t += step) ticks.push(t)
  return ticks
}
