import { Type, type Static } from '@sinclair/typebox'
import { ConnectorId, ErrorCodeSchema, Id, Timestamp } from '../schemas.ts'
import { IntegerParam } from './params.ts'

const ALERT_TYPES = [
  'station_offline',
  'connector_faulted',
  'high_temperature',
  'register_backwards',
  'telemetry_gap',
  'site_load_near_limit',
] as const
export type AlertType = (typeof ALERT_TYPES)[number]

export const Alert = Type.Object({
  id: Type.String({ pattern: '^[a-z0-9_-]{1,64}$' }),
  type: Type.Union(ALERT_TYPES.map((t) => Type.Literal(t))),
  severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
  site: Id,
  station: Type.Union([Id, Type.Null()]),
  connector: Type.Union([ConnectorId, Type.Null()]),
  message: Type.String(),
  error_code: Type.Union([ErrorCodeSchema, Type.Null()]),
  /** The measurement behind the alert (°C, W, Wh), when it has one. */
  value: Type.Union([Type.Number(), Type.Null()]),
  started_at: Timestamp,
  /** Null while the condition lasts. */
  ended_at: Type.Union([Timestamp, Type.Null()]),
  acknowledged_at: Type.Union([Timestamp, Type.Null()]),
  acknowledged_by: Type.Union([Type.String(), Type.Null()]),
})
export type Alert = Static<typeof Alert>

export const AlertsQuery = Type.Object({
  site: Type.Optional(Id),
  station: Type.Optional(Id),
  /** true: only alerts still open. */
  active: Type.Optional(Type.Boolean()),
  limit: Type.Optional(IntegerParam(1, 1000, { default: 200 })),
})
export type AlertsQuery = Static<typeof AlertsQuery>

/** `GET /api/v1/alerts`: newest first. */
export const AlertsResponse = Type.Object({ alerts: Type.Array(Alert) })
export type AlertsResponse = Static<typeof AlertsResponse>

export const AlertParams = Type.Object({ id: Alert.properties.id })

/** Frames on `GET /api/v1/alerts/ws`: the open alerts at once, then every alert as it opens, changes or ends. */
export const AlertFrame = Type.Union([
  Type.Object({ type: Type.Literal('alerts'), data: Type.Array(Alert) }),
  Type.Object({ type: Type.Literal('alert'), data: Alert }),
])
export type AlertFrame = Static<typeof AlertFrame>
