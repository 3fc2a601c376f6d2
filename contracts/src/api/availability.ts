import { Type, type Static } from '@sinclair/typebox'
import { ConnectorId, ConnectorStatusSchema, Id, Timestamp } from '../schemas.ts'

/** `GET /api/v1/availability?site=`: public, for drivers. */
export const AvailabilityQuery = Type.Object({ site: Id })
export type AvailabilityQuery = Static<typeof AvailabilityQuery>

/** The price a driver pays now: electricity tariff plus the operator's service fee, per kWh. */
export const Price = Type.Object({
  period: Type.Union([
    Type.Literal('valley'),
    Type.Literal('flat'),
    Type.Literal('peak'),
    Type.Literal('critical_peak'),
  ]),
  energy_per_kwh: Type.Number(),
  service_per_kwh: Type.Number(),
  total_per_kwh: Type.Number(),
  currency: Type.String(),
  /** When this price changes next (UTC ms). */
  until: Timestamp,
})
export type Price = Static<typeof Price>

/** When the total price per kWh (energy + service fee) next drops below the current one, within 24 h. */
export const NextCheaper = Type.Object({
  /** Start of the cheaper price (UTC ms). */
  from: Timestamp,
  /** Total price per kWh from then, in the price's currency. */
  price_per_kwh: Type.Number(),
})
export type NextCheaper = Static<typeof NextCheaper>

export const AvailabilityConnector = Type.Object({
  station: Id,
  station_name: Type.Union([Type.String(), Type.Null()]),
  connector: ConnectorId,
  kind: Type.Union([Type.Literal('dc'), Type.Literal('ac'), Type.Null()]),
  standard: Type.Union([Type.String(), Type.Null()]),
  /** Latest status; null when the station is offline or stale (treat as not usable). */
  status: Type.Union([ConnectorStatusSchema, Type.Null()]),
  /** Free to plug in now: Available on an online, fresh station. */
  free: Type.Boolean(),
  max_power_w: Type.Union([Type.Number(), Type.Null()]),
  /** What a typical 800 V / 400 V car arriving now would get, W (car curve, gun, cabinet and site headroom). */
  typical_800v_w: Type.Union([Type.Number(), Type.Null()]),
  typical_400v_w: Type.Union([Type.Number(), Type.Null()]),
  /** Estimated minutes until an occupied connector frees; null when free or unknown. */
  free_in_min: Type.Union([Type.Number(), Type.Null()]),
})
export type AvailabilityConnector = Static<typeof AvailabilityConnector>

export const AvailabilityResponse = Type.Object({
  site: Id,
  ts: Timestamp,
  timezone: Type.String(),
  price: Type.Union([Price, Type.Null()]),
  /** Null when there is no tariff or nothing cheaper starts within 24 h. */
  next_cheaper: Type.Union([NextCheaper, Type.Null()]),
  connectors: Type.Array(AvailabilityConnector),
})
export type AvailabilityResponse = Static<typeof AvailabilityResponse>
