import { Type, type Static } from '@sinclair/typebox'
import { ConnectorId, ConnectorStatusSchema, ErrorCodeSchema, Id, SessionId, Timestamp } from '../schemas.ts'
import { IntegerParam, ScopeQuery, TimeParam } from './params.ts'

/** `GET /api/v1/sessions`: sessions that started in [from, to), newest first. */
export const SessionsQuery = Type.Object({
  ...ScopeQuery,
  from: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: `to` − 7 d')),
  to: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: now')),
  limit: Type.Optional(IntegerParam(1, 500, { default: 50 })),
  offset: Type.Optional(IntegerParam(0, 100_000, { default: 0 })),
})
export type SessionsQuery = Static<typeof SessionsQuery>

const Nullable = <T extends ReturnType<typeof Type.Number>>(t: T) => Type.Union([t, Type.Null()])

export const SessionSummary = Type.Object({
  id: SessionId,
  site: Id,
  station: Id,
  connector: ConnectorId,
  vehicle: Type.Union([Type.String(), Type.Null()]),
  started_at: Timestamp,
  /** Null while the session runs. */
  ended_at: Type.Union([Timestamp, Type.Null()]),
  duration_s: Nullable(Type.Number()),
  energy_wh: Nullable(Type.Number()),
  soc_start: Nullable(Type.Number()),
  soc_end: Nullable(Type.Number()),
  reason: Type.Union([Type.String(), Type.Null()]),
  /** Time the connector was Charging during the session (so far, while it runs), s. */
  charging_s: Nullable(Type.Number()),
  /**
   * Time plugged in while the car took nothing (SuspendedEV, Finishing): the basis of an idle fee (占位费).
   * Preparing and SuspendedEVSE (the charger's side) are neither charging nor idle.
   */
  idle_s: Nullable(Type.Number()),
})
export type SessionSummary = Static<typeof SessionSummary>

export const SessionsResponse = Type.Object({
  from: Timestamp,
  to: Timestamp,
  limit: Type.Integer(),
  offset: Type.Integer(),
  /** Sessions in the range that match the filters, across all pages. */
  total: Type.Integer(),
  sessions: Type.Array(SessionSummary),
})
export type SessionsResponse = Static<typeof SessionsResponse>

export const SessionParams = Type.Object({ id: SessionId })

/** One point of a session's curve (bucketed to at most 5,000 points). */
const SessionCurvePoint = Type.Object({
  t: Timestamp,
  power_w: Nullable(Type.Number()),
  soc_pct: Nullable(Type.Number()),
  temp_c: Nullable(Type.Number()),
  energy_wh: Nullable(Type.Number()),
})

const SessionCost = Type.Object({
  energy: Type.Number(),
  service: Type.Number(),
  total: Type.Number(),
  currency: Type.String(),
})

/** A status change of the session's connector during the session. */
export const SessionStatusEvent = Type.Object({
  t: Timestamp,
  status: ConnectorStatusSchema,
  error_code: ErrorCodeSchema,
})
export type SessionStatusEvent = Static<typeof SessionStatusEvent>

/** `GET /api/v1/sessions/:id`. */
export const SessionDetail = Type.Object({
  ...SessionSummary.properties,
  peak_power_w: Nullable(Type.Number()),
  mean_power_w: Nullable(Type.Number()),
  /** Energy ÷ charging time between 10% and 80% SoC, from raw samples (docs/metrics.md); null past raw retention, W. */
  charging_speed_w: Nullable(Type.Number()),
  cost: Type.Union([SessionCost, Type.Null()]),
  curve: Type.Array(SessionCurvePoint),
  /** Status changes of the connector from the session's start to its end (or now), oldest first. */
  status_events: Type.Array(SessionStatusEvent),
})
export type SessionDetail = Static<typeof SessionDetail>
