import { ERROR_CODES } from '@evmon/contracts'
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

/** Open-circuit voltage by SoC, as a fraction of the pack's nominal voltage. */
const OcvCurve = Type.Array(obj({ socPct: percent(), fraction: positive() }), { minItems: 2 })

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
  /** Coolant temperature that trips the gun (Faulted, HighTemperature); it resets below `coolantResetC`. */
  coolantTripC: Type.Number(),
  coolantResetC: Type.Number(),
})

const ErrorCode = Type.Union(ERROR_CODES.map((code) => Type.Literal(code)))

/** A fault that takes a connector out of service (Faulted) until it is repaired. */
const HardFault = obj({
  errorCode: ErrorCode,
  /** The station's own description of the fault, published as `vendor_error`. */
  vendorError: Type.String({ minLength: 1, maxLength: 256 }),
  /** Only liquid-cooled guns have a coolant loop that can leak. */
  liquidCooledOnly: Type.Boolean(),
  /** Mean occurrences per connector per day (a Poisson process, idle or charging). */
  perConnectorPerDay: nonNegative(),
  repairS: SecondsRange,
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
    Type.Array(obj({ cabinetC: Type.Number(), factor: fraction() }), { minItems: 1 }),
  ),
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
      /** Nominal pack voltage; the open-circuit voltage is this × `battery.ocv[chemistry]` at each SoC. */
      nominalPackVoltageV: positive(),
      /** Cell chemistry: NMC's voltage climbs steadily with SoC, LFP's stays flat until near full. */
      chemistry: Type.Union([Type.Literal('nmc'), Type.Literal('lfp')]),
      /** Pack internal resistance: the terminal voltage rises by current × this while charging. */
      packResistanceMilliohm: nonNegative(),
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
  /** Relative arrival rate for each local hour 0–23 on a working day. */
  hourlyWeights: hourly(),
  /** The same on weekends and public holidays (no lunch-break peak at the park, more leisure trips). */
  weekendHourlyWeights: hourly(),
  /** Arrivals on a weekend day and on a public holiday, relative to a working day. */
  dayFactor: obj({ weekend: nonNegative(), holiday: nonNegative() }),
  /**
   * Other classes whose connectors these drivers also take when they suit the car: a driver takes
   * any suitable free gun, preferring the one that charges the car fastest.
   */
  alsoUses: Type.Array(Type.String({ minLength: 1 })),
  /** Share of this class's connectors that already have a car plugged in when the simulation starts. */
  initialOccupancy: fraction(),
  /** A driver who finds every suitable connector busy waits this long, then leaves (unserved demand). */
  maxWaitS: nonNegative(),
  /** Plug-in to energy flow: authorisation, handshake, insulation test. */
  preparingS: SecondsRange,
  /** Charging finished to cable unplugged: the driver returning to the car. */
  finishingS: SecondsRange,
  vehicleMix: Type.Array(obj({ vehicle: Type.String(), weight: positive() }), { minItems: 1 }),
  /**
   * Calibration target: the share of a day each connector of this class should be occupied
   * (Preparing … Finishing). The model does not steer towards it; a whole-day run is checked against it.
   */
  occupancyTargetPct: obj({ min: percent(), max: percent() }),
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
  /** Public holidays (local dates, YYYY-MM-DD): arrivals follow the weekend profile and `dayFactor.holiday`. */
  holidays: Type.Array(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
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
    /** Open-circuit pack voltage by SoC as a fraction of the nominal voltage, per chemistry. */
    ocv: obj({ nmc: OcvCurve, lfp: OcvCurve }),
    /**
     * Share of the AC a pile delivers that the car's on-board charger stores in the battery. The
     * rectifier is the car's, so its loss is the car's: the pile's meter counts what it passed on.
     */
    onBoardChargerEfficiency: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
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
    /** Some drivers come back before the target SoC and stop the session (reason `Local`). */
    leaveEarly: obj({ probability: fraction(), afterS: SecondsRange }),
  }),
  /** Everything that goes wrong, at configurable rates (calibration: 97–99% availability). */
  faults: obj({
    /** The car and charger fail to communicate at start: SuspendedEVSE with EVCommunicationError. */
    startFailure: obj({
      probability: fraction(),
      /** How long the charger retries the handshake before it succeeds or the driver gives up. */
      retryS: SecondsRange,
      /** Share of failed starts the retry rescues; the others end without energy. */
      recoveryProbability: fraction(),
    }),
    /** Sessions the charger cuts short: Faulted with one of these error codes, then Finishing. */
    interruption: obj({
      probability: fraction(),
      errorCodes: Type.Array(obj({ errorCode: ErrorCode, weight: positive() }), { minItems: 1 }),
      faultedS: SecondsRange,
    }),
    hardFaults: Type.Array(HardFault),
    /**
     * A power module of a cabinet built of modules (`moduleKw`) fails: the cabinet loses that module's
     * power until the repair, and its guns charge on with what is left. AC piles have no modules.
     */
    moduleFailure: obj({ perModulePerDay: nonNegative(), repairS: SecondsRange }),
    /**
     * A liquid-cooled gun's pump or fan fails. Either way the coolant rejects heat this many times
     * worse; a pump failure also stops the flow, which the flow switch reports within `flowFaultS`
     * (Faulted, OtherError) instead of waiting for the coolant to overheat.
     */
    coolingFailure: obj({
      perGunPerDay: nonNegative(),
      repairS: SecondsRange,
      coolantToAmbientFactor: Type.Number({ minimum: 1 }),
      /** Share of cooling failures that are the pump (the rest: the fan). */
      pumpShare: fraction(),
      flowFaultS: nonNegative(),
    }),
    /** The station's network drops: the broker publishes its last will until it reconnects. */
    offline: obj({ perStationPerDay: nonNegative(), durationS: SecondsRange }),
  }),
  /**
   * The site's tariff file, relative to the site file: the same file the API prices sessions with
   * (`EVMON_TARIFF_FILE`), so the tariff is defined once.
   */
  tariffFile: Type.String({ minLength: 1 }),
  arrivalClasses: Type.Array(ArrivalClass, { minItems: 1 }),
  vehicles: Type.Array(VehicleModel, { minItems: 1 }),
  stations: Type.Array(StationConfig, { minItems: 1 }),
})

const Period = Type.Union([Type.Literal('valley'), Type.Literal('flat'), Type.Literal('peak')])

/**
 * A tariff file (config/tariffs/*.json), shared with the API: time-of-use energy prices by local
 * hour, a critical-peak uplift, and the operator's service fee. `class` records which of the
 * utility's tariffs it is: `general-commercial` (< 1 kV, one energy price per period) or
 * `large-industrial-two-part` (10 kV: energy prices plus a monthly capacity or demand charge, which is
 * the site's cost and not part of a session's price).
 */
export const TariffFileSchema = obj({
  class: Type.Union([Type.Literal('general-commercial'), Type.Literal('large-industrial-two-part')]),
  currency: Type.String({ pattern: '^[A-Z]{3}$' }),
  timezone: Type.String(),
  energyPerKwh: obj({ valley: nonNegative(), flat: nonNegative(), peak: nonNegative() }),
  /** The period of each local hour 0–23. */
  hours: Type.Array(Period, { minItems: 24, maxItems: 24 }),
  /** In these months (1–12) and local hours the energy costs peak × (1 + upliftPct / 100). */
  criticalPeak: Type.Optional(
    obj({
      months: Type.Array(Type.Integer({ minimum: 1, maximum: 12 })),
      hours: Type.Array(Type.Integer({ minimum: 0, maximum: 23 })),
      upliftPct: nonNegative(),
    }),
  ),
  servicePerKwh: nonNegative(),
})

export type LiquidCooling = Static<typeof LiquidCooling>
export type ConnectorConfig = Static<typeof ConnectorConfig>
export type StationConfig = Static<typeof StationConfig>
export type VehicleModel = Static<typeof VehicleModel>
export type ArrivalClass = Static<typeof ArrivalClass>
export type HardFault = Static<typeof HardFault>
export type TariffFile = Static<typeof TariffFileSchema>
/** A validated site file, with the tariff its `tariffFile` names. */
export type SiteConfig = Static<typeof SiteConfigSchema> & { tariff: TariffFile }
