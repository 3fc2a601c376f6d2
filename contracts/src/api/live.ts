import { Type, type Static } from '@sinclair/typebox'
import { LiveSnapshot } from '../live.ts'
import { Id } from '../schemas.ts'

/** Totals of one site in the live view, aggregated on the server. */
export const LiveSiteTotals = Type.Object({
  site: Id,
  /**
   * Power on the site's grid connection: Σ station load (`stationLoadW`) — the last known load for an
   * offline or stale station, which keeps charging while its link is down — plus `aux_power_w`.
   */
  power_w: Type.Number(),
  /** The part of `power_w` that is the last known load of offline or stale stations (not fresh). */
  stale_power_w: Type.Number(),
  /** Loads on the grid connection that no station meters (a drivers' lounge), from the site file. */
  aux_power_w: Type.Number(),
  /** Real power the site's grid connection may carry (transformer kVA × power factor); null when unknown. */
  grid_limit_w: Type.Union([Type.Number(), Type.Null()]),
  /** `grid_limit_w − power_w`; null when the limit is unknown. */
  headroom_w: Type.Union([Type.Number(), Type.Null()]),
  stations: Type.Integer(),
  online_stations: Type.Integer(),
  stale_stations: Type.Integer(),
  /** Connectors by OCPP status; `Offline` counts connectors of offline or stale stations, `Unknown` those never reported. */
  connectors: Type.Record(Type.String(), Type.Integer()),
})
export type LiveSiteTotals = Static<typeof LiveSiteTotals>

/** `?site=&station=&detail=`: `detail=sites` answers totals only (cheap at any scale). */
export const LiveQuery = Type.Object({
  site: Type.Optional(Id),
  station: Type.Optional(Id),
  detail: Type.Optional(Type.Union([Type.Literal('stations'), Type.Literal('sites')])),
})
export type LiveQuery = Static<typeof LiveQuery>

const { ts, site_power_w, stations } = LiveSnapshot.properties

/** `GET /api/v1/live`: a `LiveSnapshot` plus site totals; `stations` is empty with `detail=sites`. */
export const LiveView = Type.Object({ ts, site_power_w, sites: Type.Array(LiveSiteTotals), stations })
export type LiveView = Static<typeof LiveView>

/** What changed since the previous frame: whole stations that changed, and stations that disappeared. */
export const LiveDelta = Type.Object({
  ...LiveView.properties,
  removed: Type.Array(Type.Object({ site: Id, station: Id })),
})
export type LiveDelta = Static<typeof LiveDelta>

/**
 * Frames on `GET /api/v1/live/ws`: one `snapshot` at once, then at most one `delta` per second while
 * anything changed. Apply a delta by replacing stations by (site, station) and dropping `removed`.
 */
export const LiveFrame = Type.Union([
  Type.Object({ type: Type.Literal('snapshot'), data: LiveView }),
  Type.Object({ type: Type.Literal('delta'), data: LiveDelta }),
])
export type LiveFrame = Static<typeof LiveFrame>
