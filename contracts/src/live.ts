import { Type, type Static } from '@sinclair/typebox'
import { ConnectorId, ConnectorStatusSchema, ErrorCodeSchema, Id, SessionId, Timestamp } from './schemas.ts'

// The live view the API keeps from MQTT and serves at GET /api/v1/live and on the live stream; the
// dashboard renders exactly this shape. Numbers are the latest sample; `null` means "not yet known" or
// "not reported" (a charger that does not meter it): never read as 0.

export const LiveConnector = Type.Object({
  id: ConnectorId,
  kind: Type.Union([Type.Literal('dc'), Type.Literal('ac'), Type.Null()]),
  max_power_w: Type.Union([Type.Number(), Type.Null()]),
  liquid_cooled: Type.Boolean(),
  status: Type.Union([ConnectorStatusSchema, Type.Null()]),
  error_code: Type.Union([ErrorCodeSchema, Type.Null()]),
  power_w: Type.Union([Type.Number(), Type.Null()]),
  offered_w: Type.Union([Type.Number(), Type.Null()]),
  voltage_v: Type.Union([Type.Number(), Type.Null()]),
  current_a: Type.Union([Type.Number(), Type.Null()]),
  energy_wh: Type.Union([Type.Number(), Type.Null()]),
  soc_pct: Type.Union([Type.Number(), Type.Null()]),
  temp_c: Type.Union([Type.Number(), Type.Null()]),
  /** Coolant temperature of a liquid-cooled gun; `null` for air-cooled connectors or when not sampled. */
  coolant_c: Type.Union([Type.Number(), Type.Null()]),
  session: Type.Union([SessionId, Type.Null()]),
})
export type LiveConnector = Static<typeof LiveConnector>

export const LiveStation = Type.Object({
  site: Id,
  station: Id,
  name: Type.Union([Type.String(), Type.Null()]),
  cooling: Type.Union([Type.Literal('liquid'), Type.Literal('air'), Type.Null()]),
  cabinet_max_power_w: Type.Union([Type.Number(), Type.Null()]),
  online: Type.Boolean(),
  /** No telemetry for 3 sample periods. */
  stale: Type.Boolean(),
  last_ts: Type.Union([Timestamp, Type.Null()]),
  /** The station's own grid meter; `null` when it has none (an OCPP charger), see {@link stationLoadW}. */
  grid_power_w: Type.Union([Type.Number(), Type.Null()]),
  aux_power_w: Type.Union([Type.Number(), Type.Null()]),
  /** The charger's own OCPP identity, for a station connected through the gateway. */
  ocpp_identity: Type.Union([Type.String(), Type.Null()]),
  connectors: Type.Array(LiveConnector),
})
export type LiveStation = Static<typeof LiveStation>

export const LiveSnapshot = Type.Object({
  ts: Timestamp,
  /** Σ of the stations' load ({@link stationLoadW}) in the snapshot. */
  site_power_w: Type.Number(),
  stations: Type.Array(LiveStation),
})
export type LiveSnapshot = Static<typeof LiveSnapshot>

/**
 * The power a station draws, for site totals and headroom: its grid meter, or, for a station without
 * one (an OCPP charger), what its connectors deliver: a lower bound, without conversion losses and
 * auxiliary loads. Takes the live view's or the telemetry's shape.
 */
export function stationLoadW(
  gridPowerW: number | null | undefined,
  connectors: ReadonlyArray<{ power_w?: number | null }>,
): number {
  if (gridPowerW !== null && gridPowerW !== undefined) return gridPowerW
  let sum = 0
  for (const c of connectors) sum += c.power_w ?? 0
  return sum
}
