import type { SessionDetail } from '@evmon/contracts'

// A session's curve as chart series on one time axis: power in kW, SoC in %, gun temperature in °C.

export interface XY {
  x: number
  y: number | null
}

export interface CurveSeries {
  powerKw: XY[]
  socPct: XY[]
  tempC: XY[]
  /** Events to mark on the time axis, UTC ms. */
  markers: { t: number; kind: 'start' | 'end' }[]
  /** Whether any point has a temperature (AC piles do not measure one). */
  hasTemp: boolean
}

export function toCurveSeries(detail: Pick<SessionDetail, 'curve' | 'started_at' | 'ended_at'>): CurveSeries {
  const powerKw: XY[] = []
  const socPct: XY[] = []
  const tempC: XY[] = []
  let hasTemp = false
  for (const p of detail.curve) {
    powerKw.push({ x: p.t, y: p.power_w === null ? null : p.power_w / 1000 })
    socPct.push({ x: p.t, y: p.soc_pct })
    tempC.push({ x: p.t, y: p.temp_c })
    if (p.temp_c !== null) hasTemp = true
  }
  const markers: CurveSeries['markers'] = [{ t: detail.started_at, kind: 'start' }]
  if (detail.ended_at !== null) markers.push({ t: detail.ended_at, kind: 'end' })
  return { powerKw, socPct, tempC, markers, hasTemp }
}
