import type { ErrorCode } from '@evmon/contracts'
import { chargingProfile, type ChargingProfile } from './charging-curve.ts'
import type { Rng } from './rng.ts'
import type { VehicleModel } from '@evmon/contracts/site'
import type { ArrivalClass, SiteConfig } from './site-config-schema.ts'

/** A car at a connector, and how its session will go. */
export interface Vehicle {
  model: VehicleModel
  profile: ChargingProfile
  socPct: number
  /** The session ends when the battery reaches this. */
  targetSocPct: number
  /** The car pauses once (SuspendedEV) when it reaches `atSocPct`. */
  pause?: { atSocPct: number; durationS: number }
  /** The driver comes back this long after plugging in and stops the session, target reached or not. */
  leaveAfterS?: number
  /** The handshake fails at first (SuspendedEVSE, EVCommunicationError); a retry may rescue it. */
  startFailure?: { retryS: number; recovers: boolean }
  /** The charger cuts the session when the battery reaches `atSocPct`. */
  interruption?: { atSocPct: number; errorCode: ErrorCode; faultedS: number }
}

/** Where a plugged-in car starts from; omitted fields are drawn like an arriving driver's. */
export interface VehicleSpec {
  vehicle: string
  socPct?: number
  targetSocPct?: number
}

/** The site's vehicle models with their compiled charging profiles, and the drivers who bring them. */
export interface Fleet {
  /**
   * A driver of this arrival class: model from the class's mix, SoC and target from the site's
   * session rules, and the pauses, early departures and failures the site's rates call for.
   */
  arriving(cls: ArrivalClass, rng: Rng): Vehicle
  /** A specific car that charges straight through (control API, tests); throws on an unknown model or a target not above the SoC. */
  build(spec: VehicleSpec, rng: Rng): Vehicle
  /** A vehicle model by id; throws on an unknown one. */
  model(id: string): VehicleModel
}

/** Builds the fleet of a validated site config. */
export function createFleet(config: SiteConfig): Fleet {
  const models = new Map(config.vehicles.map((m) => [m.id, m]))
  const profiles = new Map(config.vehicles.map((m) => [m.id, chargingProfile(m, config.battery)]))
  const { arrivalSocPct, targetSocPct, suspendedEv, leaveEarly } = config.sessions
  const { startFailure, interruption } = config.faults

  const modelOf = (id: string): VehicleModel => {
    const model = models.get(id)
    if (!model) throw new Error(`unknown vehicle model ${JSON.stringify(id)}`)
    return model
  }

  const build = (spec: VehicleSpec, rng: Rng): Vehicle => {
    const model = modelOf(spec.vehicle)
    const socPct = spec.socPct ?? rng.triangular(arrivalSocPct.min, arrivalSocPct.mode, arrivalSocPct.max)
    const target = rng.weighted(targetSocPct, (t) => t.weight)
    const targetPct = spec.targetSocPct ?? rng.between(target.minPct, target.maxPct)
    if (!(socPct >= 0 && targetPct > socPct && targetPct <= 100)) {
      throw new Error(`SoC ${socPct}% → target ${targetPct}%: needs 0 ≤ SoC < target ≤ 100`)
    }
    return { model, profile: profiles.get(model.id) as ChargingProfile, socPct, targetSocPct: targetPct }
  }

  const arriving = (cls: ArrivalClass, rng: Rng): Vehicle => {
    const vehicle = build({ vehicle: rng.weighted(cls.vehicleMix, (e) => e.weight).vehicle }, rng)
    const between = (r: { min: number; max: number }) => rng.between(r.min, r.max)
    if (rng.chance(suspendedEv.probability)) {
      vehicle.pause = {
        atSocPct: rng.between(vehicle.socPct, vehicle.targetSocPct),
        durationS: between(suspendedEv.durationS),
      }
    }
    if (rng.chance(leaveEarly.probability)) vehicle.leaveAfterS = between(leaveEarly.afterS)
    if (rng.chance(startFailure.probability)) {
      vehicle.startFailure = {
        retryS: between(startFailure.retryS),
        recovers: rng.chance(startFailure.recoveryProbability),
      }
    }
    if (rng.chance(interruption.probability)) {
      vehicle.interruption = {
        atSocPct: rng.between(vehicle.socPct, vehicle.targetSocPct),
        errorCode: rng.weighted(interruption.errorCodes, (e) => e.weight).errorCode,
        faultedS: between(interruption.faultedS),
      }
    }
    return vehicle
  }

  return { arriving, build, model: modelOf }
}
