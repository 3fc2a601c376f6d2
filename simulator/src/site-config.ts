import { readFileSync } from 'node:fs'
import { checkRange, duplicates, siteFileProblems, type Problems } from '@evmon/contracts/site'
import { canCharge, chargingProfile } from './charging-curve.ts'
import { SiteConfigSchema, type SiteConfig } from './site-config-schema.ts'

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

// Rules of the scenario the schema cannot express: its references to the site description (arrival
// classes, vehicle mixes), orderings and ranges.
function crossCheck(config: SiteConfig): string[] {
  const problems: string[] = []
  const problem: Problems = (path, message) => problems.push(`${path}: ${message}`)
  const range = (path: string, r: { min: number; max: number }) => checkRange(problem, path, r)

  config.holidays.forEach((date, i) => {
    if (Number.isNaN(Date.parse(`${date}T00:00:00Z`))) problem(`/holidays/${i}`, `${date} is not a date`)
  })
  const { faults } = config
  range('/faults/startFailure/retryS', faults.startFailure.retryS)
  range('/faults/interruption/faultedS', faults.interruption.faultedS)
  range('/faults/moduleFailure/repairS', faults.moduleFailure.repairS)
  range('/faults/coolingFailure/repairS', faults.coolingFailure.repairS)
  range('/faults/offline/durationS', faults.offline.durationS)
  faults.hardFaults.forEach((f, i) => range(`/faults/hardFaults/${i}/repairS`, f.repairS))

  const classIds = new Set(config.arrivalClasses.map((c) => c.id))
  for (const id of duplicates(config.arrivalClasses.map((c) => c.id)))
    problem('/arrivalClasses', `id ${id} repeats`)
  config.stations.forEach((station, s) =>
    station.connectors.forEach((connector, c) => {
      if (!classIds.has(connector.arrivalClass)) {
        problem(
          `/stations/${s}/connectors/${c}/arrivalClass`,
          `no arrival class ${JSON.stringify(connector.arrivalClass)}`,
        )
      }
    }),
  )
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

/**
 * Validates a parsed site file against the schema and the cross-section rules; returns a frozen copy.
 * Throws a {@link SiteConfigError} listing every problem.
 */
export function parseSiteConfig(value: unknown, source = 'site config'): SiteConfig {
  const problems = siteFileProblems(SiteConfigSchema, value, crossCheck)
  if (problems.length > 0) throw new SiteConfigError(source, problems)
  return deepFreeze(structuredClone(value) as SiteConfig)
}

/** Reads and validates a site file (JSON). Throws a {@link SiteConfigError} on any problem. */
export function loadSiteConfig(path: string): SiteConfig {
  return parseSiteConfig(readJson(path), path)
}
