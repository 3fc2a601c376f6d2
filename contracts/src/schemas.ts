import { Type, type Static } from '@sinclair/typebox'
import { ID_PATTERN } from './ids.ts'
import { CONNECTOR_STATUSES, ERROR_CODES } from './ocpp.ts'

// One definition per payload: these schemas validate messages in ingest and api, type them in
// TypeScript, and document the API. `additionalProperties: false` everywhere: an unknown field is
// a contract mismatch worth rejecting, not silently dropping.
const strict = { additionalProperties: false } as const

const literalUnion = <T extends readonly string[]>(values: T) =>
  Type.Union(values.map((v: T[number]) => Type.Literal(v)))

/** UTC milliseconds since the epoch. */
export const Timestamp = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000, description: 'UTC ms' })
export const Id = Type.String({ pattern: ID_PATTERN })
export const ConnectorId = Type.Integer({ minimum: 1, maximum: 255 })
export const ConnectorStatusSchema = literalUnion(CONNECTOR_STATUSES)
export const ErrorCodeSchema = literalUnion(ERROR_CODES)
/** Session ids are unbounded values: kept in fields, never in tags. */
export const SessionId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$',
})
const ShortText = (maxLength: number) => Type.String({ maxLength })
const nonNegative = (maximum: number) => Type.Number({ minimum: 0, maximum })
/** A temperature a station may report, °C: wide enough for any climate and an overheating part, not for garbage. */
const Celsius = Type.Number({ minimum: -60, maximum: 250 })

// Fields a station may not know about itself are optional, and an absent field means "not reported",
// never 0: an OCPP charger (through the gateway) says nothing of its guns' ratings, its cooling, an
// auxiliary load or a grid meter unless configured or asked. Consumers show absent values as such.
export const ConnectorMeta = Type.Object(
  {
    id: ConnectorId,
    kind: Type.Optional(Type.Union([Type.Literal('dc'), Type.Literal('ac')])),
    standard: Type.Optional(ShortText(64)),
    max_power_w: Type.Optional(nonNegative(2_000_000)),
    max_current_a: Type.Optional(nonNegative(2_000)),
    min_voltage_v: Type.Optional(nonNegative(2_000)),
    max_voltage_v: Type.Optional(nonNegative(2_000)),
    liquid_cooled: Type.Optional(Type.Boolean()),
  },
  strict,
)
export type ConnectorMeta = Static<typeof ConnectorMeta>

/** OCPP charge point identity: case-sensitive, up to 48 characters of this set (OCPP-J, security profiles). */
export const OCPP_IDENTITY_PATTERN = '^[A-Za-z0-9*_=:+|@.-]{1,48}$'
export const OCPP_PROTOCOLS = ['ocpp1.6', 'ocpp2.0.1'] as const
export type OcppProtocol = (typeof OCPP_PROTOCOLS)[number]

/** What an OCPP charger says about itself (BootNotification), for stations the gateway serves. */
export const OcppCharger = Type.Object(
  {
    /** The charger's own identity, as it connects (the last path segment of its OCPP URL). */
    identity: Type.String({ pattern: OCPP_IDENTITY_PATTERN }),
    protocol: literalUnion(OCPP_PROTOCOLS),
    vendor: Type.Optional(ShortText(50)),
    model: Type.Optional(ShortText(50)),
    serial_number: Type.Optional(ShortText(50)),
    firmware_version: Type.Optional(ShortText(50)),
  },
  strict,
)
export type OcppCharger = Static<typeof OcppCharger>

/** `.../meta`, retained: what the station is. */
export const StationMeta = Type.Object(
  {
    v: Type.Literal(1),
    name: ShortText(128),
    location: Type.Optional(
      Type.Object(
        {
          lat: Type.Number({ minimum: -90, maximum: 90 }),
          lon: Type.Number({ minimum: -180, maximum: 180 }),
          address: Type.Optional(ShortText(256)),
        },
        strict,
      ),
    ),
    timezone: Type.Optional(ShortText(64)),
    cooling: Type.Optional(Type.Union([Type.Literal('liquid'), Type.Literal('air')])),
    cabinet_max_power_w: Type.Optional(nonNegative(5_000_000)),
    /** Empty until the station has named a connector (an OCPP charger does in its first StatusNotification). */
    connectors: Type.Array(ConnectorMeta, { maxItems: 64 }),
    /** Present for a charger connected over OCPP through the gateway. */
    ocpp: Type.Optional(OcppCharger),
  },
  strict,
)
export type StationMeta = Static<typeof StationMeta>

/** `.../online`, retained; the last will publishes `{"online":false}` without a timestamp. */
export const Online = Type.Object({ online: Type.Boolean(), ts: Type.Optional(Timestamp) }, strict)
export type Online = Static<typeof Online>

export const ConnectorSample = Type.Object(
  {
    id: ConnectorId,
    status: ConnectorStatusSchema,
    // Measurements a station does not take are left out: an OCPP charger meters only the measurands
    // it is configured to sample, and rarely the power it offers.
    power_w: Type.Optional(nonNegative(2_000_000)),
    offered_w: Type.Optional(nonNegative(2_000_000)),
    voltage_v: Type.Optional(nonNegative(2_000)),
    current_a: Type.Optional(nonNegative(2_000)),
    /** Cumulative register: never goes backwards. */
    energy_wh: Type.Optional(nonNegative(1e15)),
    soc_pct: Type.Optional(nonNegative(100)),
    temp_c: Type.Optional(Celsius),
    coolant_c: Type.Optional(Celsius),
    session: Type.Optional(SessionId),
    /**
     * When the measurements above were taken, if not at the sample's `ts`: a charger that meters every
     * 10–60 s has its latest readings carried into each sample, marked by their own time, so they are
     * stored once at that time and never as a fresh measurement. Not after `ts`.
     */
    measured_at: Type.Optional(Timestamp),
  },
  strict,
)
export type ConnectorSample = Static<typeof ConnectorSample>

/** The station's own grid meter and loads; `{}` for a station that has no meter of its own or reports none. */
export const MeterSample = Type.Object(
  {
    grid_power_w: Type.Optional(nonNegative(10_000_000)),
    /** Cumulative register: never goes backwards. */
    grid_energy_wh: Type.Optional(nonNegative(1e15)),
    aux_power_w: Type.Optional(nonNegative(10_000_000)),
    cabinet_temp_c: Type.Optional(Celsius),
    /** As a connector's `measured_at`: the meter's readings held from this earlier time (not after `ts`). */
    measured_at: Type.Optional(Timestamp),
  },
  strict,
)
export type MeterSample = Static<typeof MeterSample>

/** `.../telemetry`: one message per sample period for the whole station. */
export const Telemetry = Type.Object(
  {
    v: Type.Literal(1),
    ts: Timestamp,
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    meter: MeterSample,
    connectors: Type.Array(ConnectorSample, { maxItems: 64 }),
  },
  strict,
)
export type Telemetry = Static<typeof Telemetry>

/** `.../status`, retained: published on every connector status change. */
export const StatusEvent = Type.Object(
  {
    ts: Timestamp,
    connector: ConnectorId,
    status: ConnectorStatusSchema,
    error_code: ErrorCodeSchema,
    vendor_error: Type.Optional(ShortText(256)),
  },
  strict,
)
export type StatusEvent = Static<typeof StatusEvent>

/** `.../session`: a charging session started or stopped on a connector. */
export const SessionEvent = Type.Object(
  {
    ts: Timestamp,
    event: Type.Union([Type.Literal('started'), Type.Literal('stopped')]),
    session: SessionId,
    connector: ConnectorId,
    vehicle: Type.Optional(ShortText(128)),
    soc_pct: Type.Optional(nonNegative(100)),
    /** On `stopped`: energy delivered in the session. */
    energy_wh: Type.Optional(nonNegative(1e9)),
    reason: Type.Optional(ShortText(128)),
    /** On `stopped`: what the driver pays (energy at the time-of-use tariff plus service fee), in `currency`. */
    cost: Type.Optional(nonNegative(1e9)),
    /** ISO 4217 code of `cost`. */
    currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  },
  strict,
)
export type SessionEvent = Static<typeof SessionEvent>

/** Payload type of each message kind. */
export interface PayloadByKind {
  meta: StationMeta
  online: Online
  telemetry: Telemetry
  status: StatusEvent
  session: SessionEvent
}

export const SCHEMA_BY_KIND = {
  meta: StationMeta,
  online: Online,
  telemetry: Telemetry,
  status: StatusEvent,
  session: SessionEvent,
} as const
