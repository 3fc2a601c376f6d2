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

/** Occupancy, availability and energy utilisation (DESIGN.md "Definitions"). */
export const UtilisationRow = Type.Object({
  ...rowKey,
  /** Share of time Preparing, Charging, Suspended or Finishing. */
  occupancy: Ratio,
  /** Share of time not Faulted, not Unavailable and not offline (time without samples counts as offline). */
  availability: Ratio,
  /** Energy delivered ÷ (max power × time). */
  energy_utilisation: Ratio,
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

export const UtilisationResponse = Type.Object({ ...window, rows: Type.Array(UtilisationRow) })
export type UtilisationResponse = Static<typeof UtilisationResponse>

/** Energy, efficiency and charging speed. */
export const EfficiencyRow = Type.Object({
  ...rowKey,
  /** Δ Σ connector energy registers. */
  energy_wh: Type.Number(),
  /** Δ grid energy register (stations and site only). */
  grid_energy_wh: Type.Union([Type.Number(), Type.Null()]),
  /** energy_wh ÷ grid_energy_wh, standby and cooling included. */
  efficiency: Ratio,
  /** Σ power_w ÷ Σ (grid_power_w − aux_power_w) while charging. */
  conversion_efficiency: Ratio,
  /** Mean power while charging between 10% and 80% SoC, W. */
  charging_speed_w: Ratio,
  /** Samples (raw) or minutes (rollup) behind `charging_speed_w`. */
  charging_samples: Type.Integer(),
})
export type EfficiencyRow = Static<typeof EfficiencyRow>

/** The seed's comparison: the liquid-cooled supercharging guns' charging speed against the traditional guns'. */
export const SpeedComparison = Type.Object({
  supercharging_w: Ratio,
  traditional_w: Ratio,
  /** supercharging_w ÷ traditional_w: "how many times faster". */
  ratio: Ratio,
  supercharging: Type.Array(Type.String({ description: 'station/connector' })),
  traditional: Type.Array(Type.String({ description: 'station/connector' })),
})
export type SpeedComparison = Static<typeof SpeedComparison>

export const EfficiencyResponse = Type.Object({
  ...window,
  rows: Type.Array(EfficiencyRow),
  comparison: SpeedComparison,
})
export type EfficiencyResponse = Static<typeof EfficiencyResponse>
