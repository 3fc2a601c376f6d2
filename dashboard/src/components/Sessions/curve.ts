import type { ConnectorStatus, ErrorCode, SessionDetail } from '@evmon/contracts'
import type { MessageKey } from '../../i18n/messages.ts'
import { statusView } from '../../status.ts'

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
  /** Status changes of the connector to mark on the time axis, coloured by status, oldest first. */
  statusMarks: StatusMark[]
  /** Whether any point has a temperature (AC piles do not measure one). */
  hasTemp: boolean
}

export interface StatusMark {
  t: number
  status: ConnectorStatus
  /** The OCPP error code, or null for `NoError`. */
  errorCode: ErrorCode | null
  /** The status's name in the message catalogue. */
  labelKey: MessageKey
  /** The status tone's colour (canvas). */
  color: string
  /** The tone as a CSS custom property (HTML; the light theme darkens it for contrast). */
  cssColor: string
}

export function toCurveSeries(
  detail: Pick<SessionDetail, 'curve' | 'started_at' | 'ended_at'> &
    Partial<Pick<SessionDetail, 'status_events'>>,
): CurveSeries {
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
  const statusMarks = [...(detail.status_events ?? [])]
    .sort((a, b) => a.t - b.t)
    .map((e): StatusMark => {
      const view = statusView(e.status)
      return {
        t: e.t,
        status: e.status,
        errorCode: e.error_code === 'NoError' ? null : e.error_code,
        labelKey: view.labelKey,
        color: view.color,
        cssColor: view.cssColor,
      }
    })
  return { powerKw, socPct, tempC, markers, statusMarks, hasTemp }
}
