import { ConnectorMeta, Id, StationMeta } from '@evmon/contracts'
import { Type, type Static } from '@fastify/type-provider-typebox'

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
