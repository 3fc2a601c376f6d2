import { Type, type Static, type TProperties } from '@sinclair/typebox'

// The shape of a site file (config/sites/*.json). Every physical number of the simulation lives in
// the site file, not in code, so calibration is a config change. Units are in the property names.
// Unknown properties are refused: a misspelt key would otherwise silently fall back to nothing.

/** A config object: closed to unknown keys, but every object may carry a `$comment` for humans. */
const obj = <T extends TProperties>(properties: T) =>
  Type.Object({ ...properties, $comment: Type.Optional(Type.String()) }, { additionalProperties: false })

const positive = () => Type.Number({ exclusiveMinimum: 0 })
const nonNegative = () => Type.Number({ minimum: 0 })
const percent = () => Type.Number({ minimum: 0, maximum: 100 })
const fraction = () => Type.Number({ minimum: 0, maximum: 1 })
const name = () => Type.String({ minLength: 1, maxLength: 128 })
const hourly = () => Type.Array(nonNegative(), { minItems: 24, maxItems: 24 })

/** A random duration drawn uniformly from [min, max] seconds. */
const SecondsRange = obj({ min: nonNegative(), max: nonNegative() })

/** Thermal model of a liquid-cooled cable and its contacts. */
const LiquidCooling = obj({
  /** Cable plus contact resistance: heat = I²R. */
  resistanceMilliohm: positive(),
  /** Steady-state rise of the contacts above the coolant per watt of heat. */
  contactToCoolantKPerW: positive(),
  /** Steady-state rise of the coolant above ambient per watt of heat. */
  coolantToAmbientKPerW: positive(),
  contactTimeConstantS: positive(),
  coolantTimeConstantS: positive(),
  /** Contact temperature where the current limit starts to fall, reaching 0 A at `derateZeroC`. */
  derateStartC: Type.Number(),
  derateZeroC: Type.Number(),
})

const ConnectorConfig = obj({
  id: Type.Integer({ minimum: 1, maximum: 255 }),
  kind: Type.Union([Type.Literal('dc'), Type.Literal('ac')]),
  standard: Type.String({ minLength: 1, maxLength: 64 }),
  maxPowerKw: positive(),
  maxCurrentA: positive(),
  minVoltageV: nonNegative(),
  maxVoltageV: positive(),
  /** AC only: the supply voltage the connector delivers at. */
  nominalVoltageV: Type.Optional(positive()),
  /** Allocation order within the cabinet and the site: 0 is served first and trimmed last. */
  priority: Type.Integer({ minimum: 0, maximum: 100 }),
  /** Which arrival stream (`arrivalClasses[].id`) brings drivers to this connector. */
  arrivalClass: Type.String({ minLength: 1 }),
  /** Present on liquid-cooled guns only. */
  liquidCooling: Type.Optional(LiquidCooling),
})

const StationConfig = obj({
  id: Type.String(),
  name: name(),
  cooling: Type.Union([Type.Literal('liquid'), Type.Literal('air')]),
  /** Power the cabinet's modules can deliver in total, shared by its connectors. */
  cabinetMaxPowerKw: positive(),
  /** Conversion efficiency by load (station output ÷ cabinet maximum); flat beyond the ends. */
  efficiency: Type.Array(
    obj({ loadPct: percent(), efficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
    {
      minItems: 1,
    },
  ),
  /** Cabinet and dispenser electronics, always drawn. */
  standbyW: nonNegative(),
  /** Pumps and fans while any connector delivers power, linear in load. */
  auxWhileChargingW: obj({ atZeroLoad: nonNegative(), atFullLoad: nonNegative() }),
  /** Cabinet air temperature: ambient plus a rise per kW of conversion loss, lagging by the time constant. */
  cabinetThermal: obj({ riseKPerKwLoss: nonNegative(), timeConstantS: positive() }),
  connectors: Type.Array(ConnectorConfig, { minItems: 1, maxItems: 64 }),
})

const VehicleModel = obj({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  name: name(),
  batteryKwh: positive(),
  /** DC charging capability; absent for AC-only vehicles. */
  dc: Type.Optional(
    obj({
      voltageClass: Type.Union([Type.Literal(400), Type.Literal(800)]),
      /** Pack voltage at 50% SoC; it rises with SoC by `battery.packVoltageSwingPct`. */
      nominalPackVoltageV: positive(),
      peakKw: positive(),
      maxCurrentA: positive(),
      /** Power the battery accepts by SoC (warm battery). */
      curve: Type.Array(obj({ socPct: percent(), powerKw: positive() }), { minItems: 2 }),
    }),
  ),
  /** AC charging: the on-board charger's limit; absent for vehicles never seen on AC. */
  ac: Type.Optional(obj({ maxKw: positive() })),
})

const ArrivalClass = obj({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  /** Mean daily arrivals per connector of this class; the site's total scales with its connectors. */
  sessionsPerConnectorPerDay: nonNegative(),
  /** Relative arrival rate for each local hour 0–23. */
  hourlyWeights: hourly(),
  /** Share of this class's connectors that already have a car plugged in when the simulation starts. */
  initialOccupancy: fraction(),
  /** A driver who finds every suitable connector busy waits this long, then leaves (unserved demand). */
  maxWaitS: nonNegative(),
  /** Plug-in to energy flow: authorisation, handshake, insulation test. */
  preparingS: SecondsRange,
  /** Charging finished to cable unplugged: the driver returning to the car. */
  finishingS: SecondsRange,
  vehicleMix: Type.Array(obj({ vehicle: Type.String(), weight: positive() }), { minItems: 1 }),
})

export const SiteConfigSchema = obj({
  id: Type.String(),
  name: name(),
  /** IANA zone: arrivals and the lounge follow local time. */
  timezone: Type.String(),
  location: obj({
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    address: Type.Optional(Type.String({ maxLength: 256 })),
  }),
  /** Site load (stations and lounge) never exceeds transformer kVA × power factor. */
  grid: obj({ transformerKva: positive(), powerFactor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
  /** Drivers' lounge and other site load outside the station meters, for each local hour 0–23. */
  loungeKwByHour: hourly(),
  /** Ambient temperature: annual mean plus a seasonal and a daily cosine. */
  ambient: obj({
    annualMeanC: Type.Number(),
    seasonalSwingC: nonNegative(),
    warmestDayOfYear: Type.Number({ minimum: 1, maximum: 366 }),
    dailySwingC: nonNegative(),
    warmestHour: Type.Number({ minimum: 0, maximum: 24 }),
  }),
  battery: obj({
    /** Pack voltage at 0% / 100% SoC is nominal × (1 ∓ this). */
    packVoltageSwingPct: Type.Number({ minimum: 0, maximum: 50 }),
    /** Multiplier on the charging curve by ambient (battery) temperature. */
    coldFactor: Type.Array(
      obj({ ambientC: Type.Number(), factor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
      {
        minItems: 1,
      },
    ),
  }),
  sessions: obj({
    arrivalSocPct: obj({ min: percent(), mode: percent(), max: percent() }),
    /** Drivers' target SoC: a weighted choice of ranges. */
    targetSocPct: Type.Array(obj({ weight: positive(), minPct: percent(), maxPct: percent() }), {
      minItems: 1,
    }),
    /** Some cars pause once mid-session (battery conditioning, BMS request): SuspendedEV. */
    suspendedEv: obj({ probability: fraction(), durationS: SecondsRange }),
  }),
  arrivalClasses: Type.Array(ArrivalClass, { minItems: 1 }),
  vehicles: Type.Array(VehicleModel, { minItems: 1 }),
  stations: Type.Array(StationConfig, { minItems: 1 }),
})

export type LiquidCooling = Static<typeof LiquidCooling>
export type ConnectorConfig = Static<typeof ConnectorConfig>
export type StationConfig = Static<typeof StationConfig>
export type VehicleModel = Static<typeof VehicleModel>
export type ArrivalClass = Static<typeof ArrivalClass>
/** A validated site file. */
export type SiteConfig = Static<typeof SiteConfigSchema>
