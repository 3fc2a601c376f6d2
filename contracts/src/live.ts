import { Type, type Static } from '@sinclair/typebox'
import { ConnectorId, ConnectorStatusSchema, ErrorCodeSchema, Id, SessionId, Timestamp } from './schemas.ts'

// The live view the API keeps from MQTT and serves at GET /api/v1/live and on the live stream; the
// dashboard renders exactly this shape. Numbers are the latest sample; `null` means "not yet known".

export const LiveConnector = Type.Object({
  id: ConnectorId,
  kind: Type.Union([Type.Literal('dc'), Type.Literal('ac'), Type.Null()]),
  max_power_w: Type.Union([Type.Number(), Type.Null()]),
  liquid_cooled: Type.Boolean(),
  status: Type.Union([ConnectorStatusSchema, Type.Null()]),
  error_code: Type.Union([ErrorCodeSchema, Type.Null()]),
  power_w: Type.Number(),
  offered_w: Type.Number(),
  voltage_v: Type.Number(),
  current_a: Type.Number(),
  energy_wh: Type.Number(),
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
  grid_power_w: Type.Number(),
  aux_power_w: Type.Number(),
  connectors: Type.Array(LiveConnector),
})
export type LiveStation = Static<typeof LiveStation>

export const LiveSnapshot = Type.Object({
  ts: Timestamp,
  /** Σ grid power of the stations in the snapshot. */
  site_power_w: Type.Number(),
  stations: Type.Array(LiveStation),
})
export type LiveSnapshot = Static<typeof LiveSnapshot>

/** Messages on the live stream (WebSocket `/api/v1/live/ws`), one JSON text frame each. */
export const LiveStreamMessage = Type.Object({ type: Type.Literal('snapshot'), data: LiveSnapshot })
export type LiveStreamMessage = Static<typeof LiveStreamMessage>
