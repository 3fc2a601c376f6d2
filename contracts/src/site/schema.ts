import { Type, type Static, type TProperties } from '@sinclair/typebox'

// The site description (config/sites/*.json): what is built there and what it costs to charge. The
// simulator, the API (which serves it at /api/v1/sites/:id) and the dashboard read this one shape.
// Units are in the property names. Unknown properties are refused, so a misspelt key is an error
// rather than a silent fall-back — except at the top level, where a simulator's scenario sections
// (arrivals, faults, weather) may accompany the description; the simulator closes that level itself.

/** A closed object whose every instance may carry a `$comment` for humans. */
export const described = <T extends TProperties>(properties: T) =>
  Type.Object({ ...properties, $comment: Type.Optional(Type.String()) }, { additionalProperties: false })

export const positive = () => Type.Number({ exclusiveMinimum: 0 })
export const nonNegative = () => Type.Number({ minimum: 0 })
export const percent = () => Type.Number({ minimum: 0, maximum: 100 })
export const fraction = () => Type.Number({ minimum: 0, maximum: 1 })
export const displayName = () => Type.String({ minLength: 1, maxLength: 128 })
/** One value for each local hour 0–23. */
export const hourly = () => Type.Array(nonNegative(), { minItems: 24, maxItems: 24 })
/** A random duration drawn uniformly from [min, max] seconds. */
export const SecondsRangeSchema = described({ min: nonNegative(), max: nonNegative() })

const Period = Type.Union([Type.Literal('valley'), Type.Literal('flat'), Type.Literal('peak')])

/**
 * The site's time-of-use tariff: energy prices by local hour, a critical-peak uplift, and the
 * operator's service fee. `class` records which of the utility's tariffs it is: `general-commercial`
 * (< 1 kV, one energy price per period) or `large-industrial-two-part` (10 kV: energy prices plus a
 * monthly capacity or demand charge, which is the site's cost and not part of a session's price).
 */
export const TariffSchema = described({
  class: Type.Union([Type.Literal('general-commercial'), Type.Literal('large-industrial-two-part')]),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  /** Price per kWh of each period, in `currency`. */
  energyPerKwh: described({ valley: nonNegative(), flat: nonNegative(), peak: nonNegative() }),
  /** The period of each local hour 0–23. */
  hours: Type.Array(Period, { minItems: 24, maxItems: 24 }),
  /** In these months (1–12) and local hours the energy costs peak × (1 + upliftPct / 100). */
  criticalPeak: Type.Optional(
    described({
      months: Type.Array(Type.Integer({ minimum: 1, maximum: 12 })),
      hours: Type.Array(Type.Integer({ minimum: 0, maximum: 23 })),
      upliftPct: nonNegative(),
    }),
  ),
  servicePerKwh: nonNegative(),
})

/** Thermal model of a liquid-cooled cable and its contacts (the derating limits are in thermal.ts). */
export const LiquidCoolingSchema = described({
  /** Cable plus contact resistance: heat = I²R. */
  resistanceMilliohm: positive(),
  /** Steady-state rise of the contacts above the coolant per watt of heat. */
  contactToCoolantKPerW: positive(),
  /** Steady-state rise of the coolant above ambient per watt of heat. */
  coolantToAmbientKPerW: positive(),
  contactTimeConstantS: positive(),
  coolantTimeConstantS: positive(),
  /** Coolant temperature that trips the gun (Faulted, HighTemperature); it resets below `coolantResetC`. */
  coolantTripC: Type.Number(),
  coolantResetC: Type.Number(),
})

export const ConnectorSchema = described({
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
  /** The connector's class of use (which drivers come to it); a simulation's arrival streams are keyed by it. */
  arrivalClass: Type.String({ minLength: 1 }),
  /** Present on liquid-cooled guns only. */
  liquidCooling: Type.Optional(LiquidCoolingSchema),
})

/** A station: one power cabinet and the connectors it feeds. */
export const StationSchema = described({
  id: Type.String(),
  name: displayName(),
  cooling: Type.Union([Type.Literal('liquid'), Type.Literal('air')]),
  /** Power the cabinet's modules can deliver in total, shared by its connectors. */
  cabinetMaxPowerKw: positive(),
  /**
   * Rating of one power module: a gun is switched a whole number of modules, so what it is offered
   * moves in these steps. Absent: the cabinet divides its power continuously (AC piles).
   */
  moduleKw: Type.Optional(positive()),
  /**
   * Share of the cabinet's power its air-cooled modules deliver by cabinet air temperature (ambient
   * plus the cabinet's own losses, see `cabinetThermal`); absent: no derating.
   */
  cabinetDerating: Type.Optional(
    Type.Array(described({ cabinetC: Type.Number(), factor: fraction() }), { minItems: 1 }),
  ),
  /** Conversion efficiency by load (station output ÷ cabinet maximum); flat beyond the ends. */
  efficiency: Type.Array(
    described({ loadPct: percent(), efficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
    { minItems: 1 },
  ),
  /** Cabinet and dispenser electronics, always drawn. */
  standbyW: nonNegative(),
  /** Pumps and fans while any connector delivers power, linear in load. */
  auxWhileChargingW: described({ atZeroLoad: nonNegative(), atFullLoad: nonNegative() }),
  /** Cabinet air temperature: ambient plus a rise per kW of conversion loss, lagging by the time constant. */
  cabinetThermal: described({ riseKPerKwLoss: nonNegative(), timeConstantS: positive() }),
  connectors: Type.Array(ConnectorSchema, { minItems: 1, maxItems: 64 }),
})

/** Open-circuit voltage by SoC, as a fraction of the pack's nominal voltage. */
const OcvCurve = Type.Array(described({ socPct: percent(), fraction: positive() }), { minItems: 2 })

/** A vehicle model's charging capability: the curves the simulator charges by and drivers' estimates use. */
export const VehicleSchema = described({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  name: displayName(),
  batteryKwh: positive(),
  /** DC charging capability; absent for AC-only vehicles. */
  dc: Type.Optional(
    described({
      voltageClass: Type.Union([Type.Literal(400), Type.Literal(800)]),
      /** Nominal pack voltage; the open-circuit voltage is this × `battery.ocv[chemistry]` at each SoC. */
      nominalPackVoltageV: positive(),
      /** Cell chemistry: NMC's voltage climbs steadily with SoC, LFP's stays flat until near full. */
      chemistry: Type.Union([Type.Literal('nmc'), Type.Literal('lfp')]),
      /** Pack internal resistance: the terminal voltage rises by current × this while charging. */
      packResistanceMilliohm: nonNegative(),
      peakKw: positive(),
      maxCurrentA: positive(),
      /** Power the battery accepts by SoC (warm battery). */
      curve: Type.Array(described({ socPct: percent(), powerKw: positive() }), { minItems: 2 }),
    }),
  ),
  /** AC charging: the on-board charger's limit; absent for vehicles never seen on AC. */
  ac: Type.Optional(described({ maxKw: positive() })),
})

/** Battery behaviour shared by the site's vehicle models. */
export const BatterySchema = described({
  /** Open-circuit pack voltage by SoC as a fraction of the nominal voltage, per chemistry. */
  ocv: described({ nmc: OcvCurve, lfp: OcvCurve }),
  /**
   * Share of the AC a pile delivers that the car's on-board charger stores in the battery. The
   * rectifier is the car's, so its loss is the car's: the pile's meter counts what it passed on.
   */
  onBoardChargerEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Multiplier on the charging curve by ambient (battery) temperature. */
  coldFactor: Type.Array(
    described({ ambientC: Type.Number(), factor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }) }),
    { minItems: 1 },
  ),
})

/** How the site's drivers charge: the SoC they arrive with and stop at, pauses, early departures. */
export const DriversSchema = described({
  arrivalSocPct: described({ min: percent(), mode: percent(), max: percent() }),
  /** Drivers' target SoC: a weighted choice of ranges. */
  targetSocPct: Type.Array(described({ weight: positive(), minPct: percent(), maxPct: percent() }), {
    minItems: 1,
  }),
  /** Some cars pause once mid-session (battery conditioning, BMS request): SuspendedEV. */
  suspendedEv: described({ probability: fraction(), durationS: SecondsRangeSchema }),
  /** Some drivers come back before the target SoC and stop the session (reason `Local`). */
  leaveEarly: described({ probability: fraction(), afterS: SecondsRangeSchema }),
})

/** The properties of a site description; a simulator's site file adds its scenario sections to them. */
export const SITE_PROPERTIES = {
  $comment: Type.Optional(Type.String()),
  id: Type.String(),
  name: displayName(),
  /** The name in other languages, by BCP 47 tag (`zh-CN`): what a reader of that language sees. */
  names: Type.Optional(
    Type.Record(Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), displayName()),
  ),
  /** IANA zone: prices, daily buckets and the dashboard's clock times follow it. */
  timezone: Type.String(),
  location: described({
    lat: Type.Number({ minimum: -90, maximum: 90 }),
    lon: Type.Number({ minimum: -180, maximum: 180 }),
    address: Type.Optional(Type.String({ maxLength: 256 })),
  }),
  /** Site load (stations and lounge) never exceeds transformer kVA × power factor. */
  grid: described({
    transformerKva: positive(),
    powerFactor: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
  }),
  /** Drivers' lounge and other site load outside the station meters, for each local hour 0–23. */
  loungeKwByHour: hourly(),
  tariff: TariffSchema,
  battery: BatterySchema,
  sessions: DriversSchema,
  vehicles: Type.Array(VehicleSchema, { minItems: 1 }),
  stations: Type.Array(StationSchema, { minItems: 1 }),
}

/** A site file as the API reads it: the description, with any scenario sections left to the simulator. */
export const SiteFileSchema = Type.Object(SITE_PROPERTIES)

/** The site description alone, as `GET /api/v1/sites/:id` serves it. */
export const SiteSchema = Type.Object(SITE_PROPERTIES, { additionalProperties: false })

export type TariffConfig = Static<typeof TariffSchema>
export type LiquidCooling = Static<typeof LiquidCoolingSchema>
export type ConnectorConfig = Static<typeof ConnectorSchema>
export type StationConfig = Static<typeof StationSchema>
export type VehicleModel = Static<typeof VehicleSchema>
export type Battery = Static<typeof BatterySchema>
export type Site = Static<typeof SiteSchema>

/** Real power the site may draw, W: transformer kVA × power factor (the grid schema's rule). */
export function gridLimitW(grid: Site['grid']): number {
  return grid.transformerKva * 1000 * grid.powerFactor
}

/** The description part of a validated site file, without the scenario sections. */
export function siteDescription(file: Site): Site {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(SITE_PROPERTIES)) {
    const value = (file as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  return out as Site
}

/** `GET /api/v1/sites`: the sites the API has a description of. */
export const SiteListResponse = Type.Object({
  sites: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), timezone: Type.String() })),
})
export type SiteListResponse = Static<typeof SiteListResponse>
