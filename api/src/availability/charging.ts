import { dcCurveW, type DcCurve } from '@evmon/contracts/site'

// What a car gets from a connector: the tightest of the car's curve and current, the gun's power and
// current, and the power left in the cabinet and at the site. The curve is read as the simulator reads
// it (dcCurveW); here it answers drivers ("how fast would my car charge here now?").

/** A vehicle model's DC capability, as the site file describes it (kW curve by SoC). */
export interface VehicleCurve {
  id: string
  name: string
  batteryKwh: number
  voltageClass: 400 | 800
  nominalPackVoltageV: number
  maxCurrentA: number
  curve: DcCurve
}

/** What limits a connector: its rating and the power its cabinet and the site can still give it. */
export interface ConnectorLimits {
  maxPowerW: number
  maxCurrentA: number
  minVoltageV: number
  maxVoltageV: number
  /** Power the cabinet and the site can still give this connector now, W. */
  availableW: number
}

// Each curve read once: minutesToTarget reads it hundreds of times.
const curves = new WeakMap<DcCurve, (socPct: number) => number>()

/** The car's curve at `socPct`, W; linear between points, flat outside. */
export function curvePowerW(vehicle: VehicleCurve, socPct: number): number {
  let curveW = curves.get(vehicle.curve)
  if (curveW === undefined) {
    curveW = dcCurveW(vehicle.curve)
    curves.set(vehicle.curve, curveW)
  }
  return curveW(socPct)
}

/** Power a DC car at `socPct` gets on a connector, W; 0 when its pack voltage is out of the gun's range. */
export function deliverablePowerW(vehicle: VehicleCurve, gun: ConnectorLimits, socPct: number): number {
  const v = vehicle.nominalPackVoltageV
  if (v < gun.minVoltageV || v > gun.maxVoltageV) return 0
  const currentA = Math.min(vehicle.maxCurrentA, gun.maxCurrentA)
  return Math.max(0, Math.min(curvePowerW(vehicle, socPct), currentA * v, gun.maxPowerW, gun.availableW))
}

/**
 * Minutes to charge from `socPct` to `targetPct` on a connector, integrating the curve in 0.5% steps.
 * Null when the car cannot draw power there.
 */
export function minutesToTarget(
  vehicle: VehicleCurve,
  gun: ConnectorLimits,
  socPct: number,
  targetPct: number,
): number | null {
  let hours = 0
  const step = 0.5
  for (let soc = socPct; soc < targetPct; soc += step) {
    const w = deliverablePowerW(vehicle, gun, soc)
    if (w <= 0) return null
    hours += ((Math.min(step, targetPct - soc) / 100) * vehicle.batteryKwh * 1000) / w
  }
  return Math.round(hours * 600) / 10
}

/** Mean of several models' deliverable power at `socPct`: "a typical car of this class". */
export function typicalPowerW(
  vehicles: readonly VehicleCurve[],
  gun: ConnectorLimits,
  socPct: number,
): number | null {
  if (vehicles.length === 0) return null
  const sum = vehicles.reduce((s, v) => s + deliverablePowerW(v, gun, socPct), 0)
  return Math.round(sum / vehicles.length)
}
