import {
  ROLLUP_STEP_MS,
  checkTimeZone,
  chooseResolution,
  sourcesOf,
  type UsedResolution,
} from '../influx/resolution.ts'
import { resolveWindow, type HistoryWindow } from '../influx/history-window.ts'

/** A validated history request: window, resolution, the measurements to read and the bucketing zone. */
export interface HistoryRequest extends HistoryWindow {
  resolution: UsedResolution
  sources: { station: string; connector: string }
  tz: string
}

/** Resolves window, resolution and zone of a history or analytics request; every failure is a 400. */
export function resolveHistoryRequest(
  query: { from?: string; to?: string; every?: string; tz?: string; resolution?: 'auto' | 'raw' | 'rollup' },
  nowMs: number,
  defaultTz: string,
  limits: { defaultRangeMs?: number; rawMaxRangeMs?: number } = {},
): HistoryRequest {
  const { defaultRangeMs, rawMaxRangeMs } = limits
  const tz = checkTimeZone(query.tz ?? defaultTz)
  let window = resolveWindow(query, nowMs, defaultRangeMs)
  const resolution = chooseResolution(query.resolution, window.fromMs, window.toMs, nowMs, rawMaxRangeMs)
  if (resolution === 'rollup') window = resolveWindow(query, nowMs, defaultRangeMs, ROLLUP_STEP_MS)
  return { ...window, resolution, sources: sourcesOf(resolution), tz }
}
