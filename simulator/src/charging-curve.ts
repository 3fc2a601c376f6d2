import { interpolate, type Breakpoints } from './piecewise-linear.ts'
import type { ConnectorConfig, SiteConfig, VehicleModel } from './site-config-schema.ts'

/** What a vehicle's battery accepts over DC. */
export interface DcProfile {
  /** Power the battery accepts at this SoC and ambient temperature, W: curve × cold-battery factor. */
  acceptanceW(socPct: number, ambientC: number): number
  /** Pack voltage at this SoC, V: it rises with SoC, nominal at 50%. */
  packVoltageV(socPct: number): number
  minPackVoltageV: number
  maxPackVoltageV: number
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
export function chargingProfile(model: VehicleModel, battery: SiteConfig['battery']): ChargingProfile {
  const profile: ChargingProfile = { acToBattery: battery.onBoardChargerEfficiency }
  if (model.ac) profile.acMaxW = model.ac.maxKw * 1000
  const dc = model.dc
  if (dc) {
    const curveW: Breakpoints = dc.curve.map((p) => [p.socPct, p.powerKw * 1000] as const)
    const coldFactor: Breakpoints = battery.coldFactor.map((p) => [p.ambientC, p.factor] as const)
    const swing = battery.packVoltageSwingPct / 100
    const packVoltageV = (socPct: number) => dc.nominalPackVoltageV * (1 + swing * ((socPct - 50) / 50))
    profile.dc = {
      acceptanceW: (socPct, ambientC) => interpolate(curveW, socPct) * interpolate(coldFactor, ambientC),
      packVoltageV,
      minPackVoltageV: packVoltageV(0),
      maxPackVoltageV: packVoltageV(100),
      maxCurrentA: dc.maxCurrentA,
    }
  }
  return profile
}

/**
 * True when the vehicle can charge on the connector over its whole SoC range: the right kind, and for
 * DC a pack voltage the connector can reach from empty to full.
 */
export function canCharge(profile: ChargingProfile, connector: ConnectorConfig): boolean {
  if (connector.kind === 'ac') return profile.acMaxW !== undefined
  const dc = profile.dc
  return (
    dc !== undefined &&
    dc.minPackVoltageV >= connector.minVoltageV &&
    dc.maxPackVoltageV <= connector.maxVoltageV
  )
}
