import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ID_PATTERN, isValidId } from '../ids.ts'
import { isKnownTimeZone } from './local-time.ts'
import type { Site } from './schema.ts'

// Rules of a site description the schema cannot express: references, orderings, physical consistency.

/** Collects `path: message` problems; every check adds to one list so a file reports all at once. */
export interface Problems {
  (path: string, message: string): void
}

export function duplicates(values: readonly (string | number)[]): string[] {
  const seen = new Set<string | number>()
  const repeated = new Set<string | number>()
  for (const v of values) (seen.has(v) ? repeated : seen).add(v)
  return [...repeated].map(String)
}

export function ascending(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] as number))
}

/** Reports a `{min, max}` range whose min is above its max. */
export function checkRange(problem: Problems, path: string, r: { min: number; max: number }): void {
  if (r.min > r.max) problem(path, `min ${r.min} is above max ${r.max}`)
}

/** Every problem of a site description that has the schema's shape, as `path: message` lines. */
export function siteProblems(site: Site): string[] {
  const problems: string[] = []
  const problem: Problems = (path, message) => problems.push(`${path}: ${message}`)

  if (!isValidId(site.id)) problem('/id', `${JSON.stringify(site.id)} is not a valid id (${ID_PATTERN})`)
  if (!isKnownTimeZone(site.timezone))
    problem('/timezone', `unknown time zone ${JSON.stringify(site.timezone)}`)
  for (const chemistry of ['nmc', 'lfp'] as const) {
    const curve = site.battery.ocv[chemistry]
    if (!ascending(curve.map((p) => p.socPct)) || !ascending(curve.map((p) => p.fraction))) {
      problem(`/battery/ocv/${chemistry}`, 'socPct and fraction must both be strictly ascending')
    }
  }
  if (!ascending(site.battery.coldFactor.map((p) => p.ambientC))) {
    problem('/battery/coldFactor', 'ambientC must be strictly ascending')
  }
  const { arrivalSocPct, targetSocPct, suspendedEv, leaveEarly } = site.sessions
  if (!(arrivalSocPct.min <= arrivalSocPct.mode && arrivalSocPct.mode <= arrivalSocPct.max)) {
    problem('/sessions/arrivalSocPct', 'needs min ≤ mode ≤ max')
  }
  targetSocPct.forEach((t, i) => {
    const path = `/sessions/targetSocPct/${i}`
    if (t.minPct > t.maxPct) problem(path, `minPct ${t.minPct} is above maxPct ${t.maxPct}`)
    if (t.minPct <= arrivalSocPct.max) {
      problem(path, `minPct ${t.minPct} must be above the highest arrival SoC ${arrivalSocPct.max}`)
    }
  })
  checkRange(problem, '/sessions/suspendedEv/durationS', suspendedEv.durationS)
  checkRange(problem, '/sessions/leaveEarly/afterS', leaveEarly.afterS)

  for (const id of duplicates(site.vehicles.map((v) => v.id)))
    problem('/vehicles', `vehicle id ${id} repeats`)
  site.vehicles.forEach((vehicle, i) => {
    const path = `/vehicles/${i}`
    if (!vehicle.dc && !vehicle.ac) problem(path, 'needs dc or ac (or both)')
    if (vehicle.dc) {
      const curve = vehicle.dc.curve
      if (!ascending(curve.map((p) => p.socPct)))
        problem(`${path}/dc/curve`, 'socPct must be strictly ascending')
      const curvePeakKw = Math.max(...curve.map((p) => p.powerKw))
      if (Math.abs(curvePeakKw - vehicle.dc.peakKw) > 0.5) {
        problem(`${path}/dc/peakKw`, `is ${vehicle.dc.peakKw} but the curve peaks at ${curvePeakKw}`)
      }
    }
  })

  for (const id of duplicates(site.stations.map((s) => s.id)))
    problem('/stations', `station id ${id} repeats`)
  site.stations.forEach((station, s) => {
    const path = `/stations/${s}`
    if (!isValidId(station.id)) {
      problem(`${path}/id`, `${JSON.stringify(station.id)} is not a valid id (${ID_PATTERN})`)
    }
    if (!ascending(station.efficiency.map((p) => p.loadPct))) {
      problem(`${path}/efficiency`, 'loadPct must be strictly ascending')
    }
    if (station.cabinetDerating && !ascending(station.cabinetDerating.map((p) => p.cabinetC))) {
      problem(`${path}/cabinetDerating`, 'cabinetC must be strictly ascending')
    }
    if (station.moduleKw !== undefined && station.moduleKw > station.cabinetMaxPowerKw) {
      problem(`${path}/moduleKw`, `exceeds the cabinet's ${station.cabinetMaxPowerKw} kW`)
    }
    for (const id of duplicates(station.connectors.map((c) => c.id))) {
      problem(`${path}/connectors`, `connector id ${id} repeats`)
    }
    station.connectors.forEach((connector, c) => {
      const cpath = `${path}/connectors/${c}`
      if (connector.minVoltageV >= connector.maxVoltageV)
        problem(cpath, 'minVoltageV must be below maxVoltageV')
      if (connector.maxPowerKw > station.cabinetMaxPowerKw) {
        problem(`${cpath}/maxPowerKw`, `exceeds the cabinet's ${station.cabinetMaxPowerKw} kW`)
      }
      if (connector.kind === 'ac') {
        const v = connector.nominalVoltageV
        if (v === undefined) problem(cpath, 'an AC connector needs nominalVoltageV')
        else if (v < connector.minVoltageV || v > connector.maxVoltageV) {
          problem(`${cpath}/nominalVoltageV`, 'must lie within minVoltageV..maxVoltageV')
        }
        if (connector.liquidCooling) problem(`${cpath}/liquidCooling`, 'only DC guns are liquid-cooled')
      } else if (connector.nominalVoltageV !== undefined) {
        problem(`${cpath}/nominalVoltageV`, 'applies to AC connectors only (DC follows the pack voltage)')
      }
      const cooling = connector.liquidCooling
      if (cooling && cooling.coolantResetC >= cooling.coolantTripC) {
        problem(`${cpath}/liquidCooling`, 'coolantResetC must be below coolantTripC')
      }
    })
  })
  return problems
}

/**
 * Every problem of a parsed site file against `schema` (the contract's site schema, or a simulator's
 * that extends it), then the description's own rules and the `extra` ones of whoever extended it —
 * all of them at once, but only on a file of the right shape, since they walk its structure.
 */
export function siteFileProblems<T extends TSchema>(
  schema: T,
  value: unknown,
  extra: (file: Static<T>) => string[] = () => [],
): string[] {
  const shape = [...Value.Errors(schema, value)].map((e) => `${e.path || '/'}: ${e.message}`)
  if (shape.length > 0) return shape
  return [...siteProblems(value as Site), ...extra(value as Static<T>)]
}
