import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ID_PATTERN, isValidId } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import { canCharge, chargingProfile } from './charging-curve.ts'
import { isKnownTimeZone } from '@evmon/contracts/site'
import { DEFAULTS } from './defaults.ts'
import { SiteConfigSchema, TariffFileSchema, type SiteConfig, type TariffFile } from './site-config-schema.ts'

/** A site file that cannot be used; `problems` lists every one found, not just the first. */
export class SiteConfigError extends Error {
  override name = 'SiteConfigError'
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source} is not a valid site config:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  }
}

function duplicates(values: readonly (string | number)[]): string[] {
  const seen = new Set<string | number>()
  const repeated = new Set<string | number>()
  for (const v of values) (seen.has(v) ? repeated : seen).add(v)
  return [...repeated].map(String)
}

function ascending(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] as number))
}

// Rules the schema cannot express: references between sections, orderings, physical consistency.
function crossCheck(config: SiteConfig): string[] {
  const problems: string[] = []
  const problem = (path: string, message: string) => problems.push(`${path}: ${message}`)
  const range = (path: string, r: { min: number; max: number }) => {
    if (r.min > r.max) problem(path, `min ${r.min} is above max ${r.max}`)
  }

  if (!isValidId(config.id)) problem('/id', `${JSON.stringify(config.id)} is not a valid id (${ID_PATTERN})`)
  config.holidays.forEach((date, i) => {
    if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) problem(`/holidays/${i}`, `${date} is not a date`)
  })
  if (config.tariff.timezone !== config.timezone) {
    problem('/tariffFile', `the tariff is for ${config.tariff.timezone}, the site is in ${config.timezone}`)
  }
  if (!isKnownTimeZone(config.timezone))
    problem('/timezone', `unknown time zone ${JSON.stringify(config.timezone)}`)
  for (const chemistry of ['nmc', 'lfp'] as const) {
    const curve = config.battery.ocv[chemistry]
    if (!ascending(curve.map((p) => p.socPct)) || !ascending(curve.map((p) => p.fraction))) {
      problem(`/battery/ocv/${chemistry}`, 'socPct and fraction must both be strictly ascending')
    }
  }
  if (!ascending(config.battery.coldFactor.map((p) => p.ambientC))) {
    problem('/battery/coldFactor', 'ambientC must be strictly ascending')
  }
  const { arrivalSocPct, targetSocPct, suspendedEv } = config.sessions
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
  range('/sessions/suspendedEv/durationS', suspendedEv.durationS)
  range('/sessions/leaveEarly/afterS', config.sessions.leaveEarly.afterS)
  const { faults } = config
  range('/faults/startFailure/retryS', faults.startFailure.retryS)
  range('/faults/interruption/faultedS', faults.interruption.faultedS)
  range('/faults/moduleFailure/repairS', faults.moduleFailure.repairS)
  range('/faults/coolingFailure/repairS', faults.coolingFailure.repairS)
  range('/faults/offline/durationS', faults.offline.durationS)
  faults.hardFaults.forEach((f, i) => range(`/faults/hardFaults/${i}/repairS`, f.repairS))

  for (const id of duplicates(config.vehicles.map((v) => v.id)))
    problem('/vehicles', `vehicle id ${id} repeats`)
  config.vehicles.forEach((vehicle, i) => {
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

  const classIds = new Set(config.arrivalClasses.map((c) => c.id))
  for (const id of duplicates(config.arrivalClasses.map((c) => c.id)))
    problem('/arrivalClasses', `id ${id} repeats`)
  for (const id of duplicates(config.stations.map((s) => s.id)))
    problem('/stations', `station id ${id} repeats`)
  config.stations.forEach((station, s) => {
    const path = `/stations/${s}`
    if (!isValidId(station.id))
      problem(`${path}/id`, `${JSON.stringify(station.id)} is not a valid id (${ID_PATTERN})`)
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
      if (!classIds.has(connector.arrivalClass)) {
        problem(`${cpath}/arrivalClass`, `no arrival class ${JSON.stringify(connector.arrivalClass)}`)
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

  const vehicles = new Map(config.vehicles.map((v) => [v.id, v]))
  const connectors = config.stations.flatMap((s) => s.connectors)
  config.arrivalClasses.forEach((cls, i) => {
    const path = `/arrivalClasses/${i}`
    range(`${path}/preparingS`, cls.preparingS)
    range(`${path}/finishingS`, cls.finishingS)
    if (cls.sessionsPerConnectorPerDay > 0 && cls.hourlyWeights.every((w) => w === 0)) {
      problem(`${path}/hourlyWeights`, 'are all zero, so no driver would ever arrive')
    }
    cls.alsoUses.forEach((other, j) => {
      if (!classIds.has(other) || other === cls.id) {
        problem(`${path}/alsoUses/${j}`, `${JSON.stringify(other)} is not another arrival class`)
      }
    })
    const served = connectors.filter((c) => c.arrivalClass === cls.id)
    if (served.length === 0) problem(path, `no connector has arrivalClass ${JSON.stringify(cls.id)}`)
    range(`${path}/occupancyTargetPct`, cls.occupancyTargetPct)
    cls.vehicleMix.forEach((entry, j) => {
      const model = vehicles.get(entry.vehicle)
      if (!model) return problem(`${path}/vehicleMix/${j}`, `no vehicle ${JSON.stringify(entry.vehicle)}`)
      const profile = chargingProfile(model, config.battery)
      if (served.length > 0 && !served.some((c) => canCharge(profile, c))) {
        problem(`${path}/vehicleMix/${j}`, `${entry.vehicle} cannot charge on any connector of this class`)
      }
    })
  })
  return problems
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

function readJson(path: string): unknown {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new SiteConfigError(path, [`cannot read: ${(err as Error).message}`])
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new SiteConfigError(path, [`not valid JSON: ${(err as Error).message}`])
  }
}

/** Validates a parsed tariff file; throws a {@link SiteConfigError} listing every problem. */
export function parseTariffFile(value: unknown, source = 'tariff file'): TariffFile {
  const problems = [...Value.Errors(TariffFileSchema, value)].map((e) => `${e.path || '/'}: ${e.message}`)
  if (problems.length === 0 && !isKnownTimeZone((value as TariffFile).timezone)) {
    problems.push(`/timezone: unknown time zone ${JSON.stringify((value as TariffFile).timezone)}`)
  }
  if (problems.length > 0) throw new SiteConfigError(source, problems)
  return structuredClone(value) as TariffFile
}

/**
 * Validates a parsed site file against the schema and the cross-section rules, with the tariff file
 * it names (relative to `siteDir`, by default the repository's config/sites); returns a frozen copy.
 * Throws a {@link SiteConfigError} listing every problem.
 */
export function parseSiteConfig(
  value: unknown,
  source = 'site config',
  siteDir = dirname(DEFAULTS.sitePath),
): SiteConfig {
  // A config validated before (a scaled copy) carries its loaded tariff: the file is read again.
  if (typeof value === 'object' && value !== null && 'tariff' in value) {
    const { tariff: _loaded, ...file } = value as Record<string, unknown>
    value = file
  }
  const schemaProblems = [...Value.Errors(SiteConfigSchema, value)].map(
    (e) => `${e.path || '/'}: ${e.message}`,
  )
  // Cross-checks walk the structure, so they only run on a config of the right shape.
  if (schemaProblems.length > 0) throw new SiteConfigError(source, schemaProblems)
  const site = structuredClone(value) as Omit<SiteConfig, 'tariff'>
  const tariffPath = resolve(siteDir, site.tariffFile)
  const config: SiteConfig = { ...site, tariff: parseTariffFile(readJson(tariffPath), tariffPath) }
  const problems = crossCheck(config)
  if (problems.length > 0) throw new SiteConfigError(source, problems)
  return deepFreeze(config)
}

/** Reads and validates a site file (JSON) and its tariff file. Throws a {@link SiteConfigError} on any problem. */
export function loadSiteConfig(path: string): SiteConfig {
  return parseSiteConfig(readJson(path), path, dirname(path))
}
