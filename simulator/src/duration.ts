const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Parses a duration such as `90`, `90s`, `15m`, `24h` or `30d` into seconds; undefined when it is
 * not one or is not above 0.
 */
export function parseDurationS(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text)
  if (!match) return undefined
  const seconds = Number(match[1]) * (SECONDS_PER_UNIT[match[2] || 's'] as number)
  return seconds > 0 && Number.isFinite(seconds) ? seconds : undefined
}
