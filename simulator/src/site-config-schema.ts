import { ERROR_CODES } from '@evmon/contracts'
import {
  SITE_PROPERTIES,
  SecondsRangeSchema as SecondsRange,
  described as obj,
  fraction,
  hourly,
  nonNegative,
  percent,
  positive,
} from '@evmon/contracts/site'
import { Type, type Static } from '@sinclair/typebox'

// The shape of a site file (config/sites/*.json): the site description of the contract (stations,
// vehicles, tariff, drivers) plus the scenario this simulator plays on it — arrivals, faults, weather
// and holidays. Every physical number of the simulation lives in the site file, not in code, so
// calibration is a config change. Units are in the property names; unknown properties are refused.

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

export const SiteConfigSchema = Type.Object(
  {
    ...SITE_PROPERTIES,
    /** Public holidays (local dates, YYYY-MM-DD): arrivals follow the weekend profile and `dayFactor.holiday`. */
    holidays: Type.Array(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
    /** Ambient temperature: annual mean plus a seasonal and a daily cosine. */
    ambient: obj({
      annualMeanC: Type.Number(),
      seasonalSwingC: nonNegative(),
      warmestDayOfYear: Type.Number({ minimum: 1, maximum: 366 }),
      dailySwingC: nonNegative(),
      warmestHour: Type.Number({ minimum: 0, maximum: 24 }),
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
    arrivalClasses: Type.Array(ArrivalClass, { minItems: 1 }),
  },
  { additionalProperties: false },
)

export type ArrivalClass = Static<typeof ArrivalClass>
export type HardFault = Static<typeof HardFault>
/** A validated site file. */
export type SiteConfig = Static<typeof SiteConfigSchema>
