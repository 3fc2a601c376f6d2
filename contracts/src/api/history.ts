import { Type, type Static } from '@sinclair/typebox'
import { Id, Timestamp } from '../schemas.ts'
import { EVERY_PATTERN, FIELDS_PATTERN, Resolution, TimeParam, TzParam, UsedResolution } from './params.ts'

/** Query of `GET /stations/:id/telemetry` (and its older name `/history`) and `GET /sites/:id/load`. */
export const TelemetryQuery = Type.Object({
  site: Type.Optional(Id),
  from: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: `to` − 1 h')),
  to: Type.Optional(TimeParam('ISO-8601 (with zone) or epoch ms; default: now')),
  every: Type.Optional(
    Type.String({
      pattern: EVERY_PATTERN,
      description: 'bucket width such as 10s, 1m, 1h, 1d, at most 731d; default: ~360 buckets',
    }),
  ),
  fields: Type.Optional(
    Type.String({ pattern: FIELDS_PATTERN, description: 'comma-separated field names; default: all' }),
  ),
  tz: Type.Optional(TzParam),
  resolution: Type.Optional(Resolution),
})
export type TelemetryQuery = Static<typeof TelemetryQuery>

/** One bucket: start time and the mean of each requested field (`null` when none in the bucket). */
const HistoryBucket = Type.Object(
  { t: Timestamp },
  { additionalProperties: Type.Union([Type.Number(), Type.Null()]) },
)

/** `GET /stations/:id/telemetry`: one series for the station, one per connector; ≤ 5,000 buckets each. */
export const TelemetryResponse = Type.Object({
  site: Id,
  station: Id,
  from: Timestamp,
  to: Timestamp,
  every: Type.String(),
  tz: Type.String(),
  resolution: UsedResolution,
  series: Type.Object({
    station: Type.Array(HistoryBucket),
    connectors: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Array(HistoryBucket)),
  }),
})
export type TelemetryResponse = Static<typeof TelemetryResponse>

/** One bucket of site load: Σ of the stations' mean grid power, and the largest 1-minute/raw peak. */
const LoadPoint = Type.Object({
  t: Timestamp,
  power_w: Type.Number(),
  peak_w: Type.Union([Type.Number(), Type.Null()]),
})

/** `GET /sites/:id/load`: the site's grid power over time, with the per-station series that sum to it. */
export const SiteLoadResponse = Type.Object({
  site: Id,
  from: Timestamp,
  to: Timestamp,
  every: Type.String(),
  tz: Type.String(),
  resolution: UsedResolution,
  grid_limit_w: Type.Union([Type.Number(), Type.Null()]),
  points: Type.Array(LoadPoint),
  stations: Type.Record(Id, Type.Array(Type.Object({ t: Timestamp, power_w: Type.Number() }))),
})
export type SiteLoadResponse = Static<typeof SiteLoadResponse>
