import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp } from '../schemas.ts'
import { Resolution, ScopeQuery, TimeParam, TzParam, UsedResolution } from './params.ts'

/** Query of `GET /metrics/utilisation` and `GET /metrics/efficiency`. */
export const AnalyticsQuery = Type.Object({
  ...ScopeQuery,
  from: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: `to` − 24 h')),
  to: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: now')),
  /** `none`: one row per connector/station/site; `day`: per local day; `hour`: per local hour of day (0–23). */
  group: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('day'), Type.Literal('hour')])),
  tz: Type.Optional(TzParam),
  resolution: Type.Optional(Resolution),
  /**
   * Excluded time for uptime: comma-separated `from/to/reason` windows (times as `from`/`to`), reason one
   * of EXCLUSION_REASONS. Outage inside them does not count against availability; every window is echoed
   * in the answer.
   */
  exclude: Type.Optional(
    Type.String({
      maxLength: 2000,
      pattern: `^[^,/]+/[^,/]+/[a-z_]+(,[^,/]+/[^,/]+/[a-z_]+){0,19}$`,
      description: 'e.g. `2026-12-01T02:00:00+08:00/2026-12-01T04:00:00+08:00/maintenance`',
    }),
  ),
})
export type AnalyticsQuery = Static<typeof AnalyticsQuery>

const Level = Type.Union([Type.Literal('connector'), Type.Literal('station'), Type.Literal('site')])
const Ratio = Type.Union([Type.Number(), Type.Null()])

const rowKey = {
  level: Level,
  site: Id,
  station: Type.Union([Id, Type.Null()]),
  connector: Type.Union([Type.Integer(), Type.Null()]),
  /** `YYYY-MM-DD` (group=day), `00`–`23` (group=hour) in `tz`, or null (group=none). */
  bucket: Type.Union([Type.String(), Type.Null()]),
}

/** Why outage time may be excluded from uptime: causes outside the operator's control (NEVI's list). */
export const EXCLUSION_REASONS = ['maintenance', 'grid_outage', 'vandalism', 'disaster', 'vehicle'] as const
export const ExcludedWindow = Type.Object({
  from: Timestamp,
  to: Timestamp,
  reason: Type.Union(EXCLUSION_REASONS.map((r) => Type.Literal(r))),
  /** Only this site's (and station's) connectors; absent: every connector in the request's scope. */
  site: Type.Optional(Id),
  station: Type.Optional(Id),
})
export type ExcludedWindow = Static<typeof ExcludedWindow>

/** Occupancy, time utilisation, availability (uptime) and energy utilisation (docs/metrics.md). */
export const UtilisationRow = Type.Object({
  ...rowKey,
  /** Share of time plugged in (Preparing, Charging, Suspended*, Finishing), time-weighted from status events. */
  occupancy: Ratio,
  /** Share of time Charging (时间利用率), time-weighted from status events. */
  time_utilisation: Ratio,
  /** Uptime: (period − (outage − excluded)) ÷ period. */
  availability: Ratio,
  /** Connector time the figures above cover (the window, from when a connector was first known), s. */
  period_s: Type.Number(),
  /** Time down (offline, Faulted, Unavailable, SuspendedEVSE), s. */
  outage_s: Type.Number(),
  /** Part of `outage_s` inside excluded windows, s. */
  excluded_s: Type.Number(),
  /** DC energy ÷ (DC capacity × time); a station's DC capacity is min(cabinet, Σ DC guns). Null without DC guns. */
  energy_utilisation_dc: Ratio,
  /** AC energy ÷ (Σ AC pile ratings × time). Null without AC piles. */
  energy_utilisation_ac: Ratio,
  energy_wh: Type.Number(),
  sessions: Type.Integer(),
})
export type UtilisationRow = Static<typeof UtilisationRow>

const window = {
  from: Timestamp,
  to: Timestamp,
  tz: Type.String(),
  group: Type.String(),
  resolution: UsedResolution,
}

export const UtilisationResponse = Type.Object({
  ...window,
  /** The excluded windows applied (from `exclude`). */
  excluded: Type.Array(ExcludedWindow),
  rows: Type.Array(UtilisationRow),
})
export type UtilisationResponse = Static<typeof UtilisationResponse>

/** Energy, efficiency and charging speed. */
export const EfficiencyRow = Type.Object({
  ...rowKey,
  /** Σ non-negative steps of the connector energy registers (a reset adds nothing). */
  energy_wh: Type.Number(),
  /** Σ non-negative steps of the grid energy register (stations and site only). */
  grid_energy_wh: Type.Union([Type.Number(), Type.Null()]),
  /** energy_wh ÷ grid_energy_wh, standby and cooling included. */
  efficiency: Ratio,
  /** Σ power_w ÷ Σ (grid_power_w − aux_power_w) while charging. */
  conversion_efficiency: Ratio,
  /** Energy ÷ charging time between 10% and 80% SoC, from raw samples of the sessions that started in the bucket, W. */
  charging_speed_w: Ratio,
  /** Sessions behind `charging_speed_w`. */
  speed_sessions: Type.Integer(),
})
export type EfficiencyRow = Static<typeof EfficiencyRow>

/** One side of a speed comparison: energy ÷ charging time (10–80% SoC) and the sessions behind it. */
export const SpeedFigure = Type.Object({
  /** Null when fewer than `min_sessions` sessions are behind it. */
  speed_w: Ratio,
  sessions: Type.Integer(),
})
export type SpeedFigure = Static<typeof SpeedFigure>

const SpeedRatio = {
  supercharging: SpeedFigure,
  traditional: SpeedFigure,
  /** supercharging ÷ traditional speed; null ("not enough sessions") when either side has too few. */
  ratio: Ratio,
}

/** The supercharging guns' speed against the traditional guns', compared only for the same cars. */
export const SpeedComparison = Type.Object({
  /** Sessions a figure needs before it is shown. */
  min_sessions: Type.Integer(),
  supercharging: Type.Array(Type.String({ description: 'station/connector' })),
  traditional: Type.Array(Type.String({ description: 'station/connector' })),
  /** Per car voltage class: 800 V cars on both sides, 400 V cars on both sides. */
  by_class: Type.Array(
    Type.Object({ voltage_class: Type.Union([Type.Literal(400), Type.Literal(800)]), ...SpeedRatio }),
  ),
  /** Same mix: each car model seen on both sides weighs equally on both sides. */
  same_mix: Type.Object({ models: Type.Array(Type.String()), ...SpeedRatio }),
})
export type SpeedComparison = Static<typeof SpeedComparison>

export const EfficiencyResponse = Type.Object({
  ...window,
  rows: Type.Array(EfficiencyRow),
  comparison: SpeedComparison,
})
export type EfficiencyResponse = Static<typeof EfficiencyResponse>
