import {
  MEASUREMENTS,
  RAW_QUERY_MAX_RANGE_MS,
  RETENTION_POLICIES,
  ROLLUP_MEASUREMENTS,
} from '@evmon/contracts'
import { badRequest } from '../errors.ts'
import { quoteIdentifier } from './influxql.ts'

export type UsedResolution = 'raw' | 'rollup'

/** The time one rollup point stands for (ROLLUP_MEASUREMENTS are 1-minute rollups). */
export const ROLLUP_STEP_MS = 60_000

/** Raw points are kept this long (the `raw` retention policy); older ranges can only come from rollups. */
const RAW_RETENTION_MS = 30 * 86_400_000

/**
 * Raw points for short, recent ranges; 1-minute rollups for anything longer than
 * `RAW_QUERY_MAX_RANGE_MS` or reaching past raw retention. An explicit choice is honoured, except
 * raw for a range raw retention no longer holds.
 */
export function chooseResolution(
  requested: 'auto' | 'raw' | 'rollup' | undefined,
  fromMs: number,
  toMs: number,
  nowMs: number,
  rawMaxRangeMs: number = RAW_QUERY_MAX_RANGE_MS,
): UsedResolution {
  const beyondRetention = fromMs < nowMs - RAW_RETENTION_MS
  if (requested === 'raw') {
    if (beyondRetention) throw badRequest('raw points are kept for 30 days: use resolution=rollup or auto')
    return 'raw'
  }
  if (requested === 'rollup') return 'rollup'
  return beyondRetention || toMs - fromMs > rawMaxRangeMs ? 'rollup' : 'raw'
}

/** Fully qualified measurements to read. Raw data lives in the database's default policy. */
export function sourcesOf(resolution: UsedResolution): { station: string; connector: string } {
  if (resolution === 'raw') {
    return {
      station: quoteIdentifier(MEASUREMENTS.station),
      connector: quoteIdentifier(MEASUREMENTS.connector),
    }
  }
  const rp = quoteIdentifier(RETENTION_POLICIES.rollup.name)
  return {
    station: `${rp}.${quoteIdentifier(ROLLUP_MEASUREMENTS.station)}`,
    connector: `${rp}.${quoteIdentifier(ROLLUP_MEASUREMENTS.connector)}`,
  }
}

/** Checks that `tz` is a time zone this runtime knows; the route pattern already limits its characters. */
export function checkTimeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz })
  } catch {
    throw badRequest(`tz ${tz} is not a known IANA time zone`)
  }
  return tz
}
