import { ConnectorMeta, Id, StationMeta, Timestamp } from '@evmon/contracts'
import { Type, type Static } from '@fastify/type-provider-typebox'
import { FIELDS_PATTERN } from '../../history/history-fields.ts'
import { EVERY_PATTERN, TIME_PATTERN } from '../../history/history-window.ts'

/** One station as listed by `GET /stations`: its retained description and whether it is online. */
export const StationView = Type.Object({
  id: Id,
  site: Id,
  name: StationMeta.properties.name,
  cooling: StationMeta.properties.cooling,
  location: StationMeta.properties.location,
  timezone: StationMeta.properties.timezone,
  cabinet_max_power_w: StationMeta.properties.cabinet_max_power_w,
  connectors: Type.Array(ConnectorMeta),
  online: Type.Boolean(),
})
export type StationView = Static<typeof StationView>

/** `?site=`: only the stations of one site. */
export const StationsQuery = Type.Object({ site: Type.Optional(Id) })

/** `GET /stations`: described stations sorted by id. */
export const StationsResponse = Type.Object({ stations: Type.Array(StationView) })

/** `:id`: a station id. */
export const StationParams = Type.Object({ id: Id })

/** History parameters; each is checked here, combinations (range, bucket count) by the handler. */
export const HistoryQuery = Type.Object({
  site: Type.Optional(Id),
  from: Type.Optional(
    Type.String({
      pattern: TIME_PATTERN,
      description: 'ISO-8601 (with zone) or epoch ms; default: `to` − 1 h',
    }),
  ),
  to: Type.Optional(
    Type.String({ pattern: TIME_PATTERN, description: 'ISO-8601 (with zone) or epoch ms; default: now' }),
  ),
  every: Type.Optional(
    Type.String({
      pattern: EVERY_PATTERN,
      description: 'bucket width such as 10s, 1m, 1h, 1d; default: ~360 buckets',
    }),
  ),
  fields: Type.Optional(
    Type.String({ pattern: FIELDS_PATTERN, description: 'comma-separated field names; default: all' }),
  ),
})

/** One bucket: start time and the mean of each requested field (`null` when none in the bucket). */
export const HistoryPoint = Type.Object(
  { t: Timestamp },
  { additionalProperties: Type.Union([Type.Number(), Type.Null()]) },
)

/** `GET /stations/:id/history`: the window actually used, and one series per measurement and connector. */
export const HistoryResponse = Type.Object({
  site: Id,
  station: Id,
  from: Timestamp,
  to: Timestamp,
  every: Type.String(),
  series: Type.Object({
    station: Type.Array(HistoryPoint),
    connectors: Type.Record(Type.String({ pattern: '^[0-9]+$' }), Type.Array(HistoryPoint)),
  }),
})
