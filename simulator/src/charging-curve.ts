import {
  dcCurveW,
  interpolate,
  type Battery,
  type Breakpoints,
  type ConnectorConfig,
  type VehicleModel,
} from '@evmon/contracts/site'

/** What a vehicle's battery accepts over DC. */
export interface DcProfile {
  /** Power the battery accepts at this SoC and ambient temperature, W: curve × cold-battery factor. */
  acceptanceW(socPct: number, ambientC: number): number
  /** Open-circuit pack voltage at this SoC, V. */
  ocvV(socPct: number): number
  /** Pack internal resistance, Ω. */
  resistanceOhm: number
  /** Open-circuit voltage of the empty pack: the least a DC gun must reach. */
  minPackVoltageV: number
  maxCurrentA: number
}

/** A vehicle model's charging capability, compiled once from its config. */
export interface ChargingProfile {
  dc?: DcProfile
  /** On-board charger limit, W; absent when the vehicle does not charge on AC. */
  acMaxW?: number
  /** Share of the AC drawn from a pile that reaches the battery (the on-board charger's efficiency). */
  acToBattery: number
}

/** Compiles the charging capability of a vehicle model under the site's battery assumptions. */
export function chargingProfile(model: VehicleModel, battery: Battery): ChargingProfile {
  const profile: ChargingProfile = { acToBattery: battery.onBoardChargerEfficiency }
  if (model.ac) profile.acMaxW = model.ac.maxKw * 1000
  const dc = model.dc
  if (dc) {
    const curveW = dcCurveW(dc.curve)
    const coldFactor: Breakpoints = battery.coldFactor.map((p) => [p.ambientC, p.factor] as const)
    const ocv: Breakpoints = battery.ocv[dc.chemistry].map(
      (p) => [p.socPct, p.fraction * dc.nominalPackVoltageV] as const,
    )
    const ocvV = (socPct: number) => interpolate(ocv, socPct)
    const resistanceOhm = dc.packResistanceMilliohm / 1000
    profile.dc = {
      acceptanceW: (socPct, ambientC) => curveW(socPct) * interpolate(coldFactor, ambientC),
      ocvV,
      resistanceOhm,
      minPackVoltageV: ocvV(0),
      maxCurrentA: dc.maxCurrentA,
    }
  }
  return profile
}

/** Terminal voltage of a pack charging at `currentA`: open-circuit voltage plus the IR rise. */
export const voltageAtCurrentV = (dc: DcProfile, socPct: number, currentA: number): number =>
  dc.ocvV(socPct) + currentA * dc.resistanceOhm

/**
 * Terminal voltage of a pack taking `powerW`: V = OCV + (P / V)·R, solved for V (the positive root of
 * V² − OCV·V − P·R = 0).
 */
export function voltageAtPowerV(dc: DcProfile, socPct: number, powerW: number): number {
  const ocvV = dc.ocvV(socPct)
  return (ocvV + Math.sqrt(ocvV * ocvV + 4 * powerW * dc.resistanceOhm)) / 2
}

/**
 * True when the vehicle can charge on the connector over its whole SoC range: the right kind, and for
 * DC a connector that reaches the empty pack's voltage. A pack that climbs above the connector's
 * highest voltage charges at that voltage through the car's boost converter (800 V cars on a 750 V
 * gun), as Chinese 800 V models do.
 */
export function canCharge(profile: ChargingProfile, connector: ConnectorConfig): boolean {
  if (connector.kind === 'ac') return profile.acMaxW !== undefined
  const dc = profile.dc
  return (
    dc !== undefined &&
    dc.minPackVoltageV >= connector.minVoltageV &&
    dc.minPackVoltageV <= connector.maxVoltageV
  )
}
