import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Tariff } from '@evmon/contracts'
import type { VehicleCurve } from '../availability/charging.ts'
import {
  gridLimitW,
  SiteFileSchema,
  siteDescription,
  siteFileProblems,
  type Site,
  type StationConfig,
  type VehicleModel,
} from '@evmon/contracts/site'

// The site files (config/sites/*.json), validated against the contract's site description, and the
// figures the routes read from them: grid limit, time zone, tariff, connector ratings and the vehicle
// curves drivers' estimates are made from. Scenario sections a simulator adds are ignored here.

export interface CatalogueConnector {
  id: number
  kind: 'dc' | 'ac'
  standard: string | null
  maxPowerW: number
  maxCurrentA: number
  minVoltageV: number
  maxVoltageV: number
  liquidCooled: boolean
  /** Order in which the cabinet serves its guns: lower first (the supercharging gun is 0). */
  priority: number
}

export interface CatalogueStation {
  id: string
  name: string
  cooling: 'liquid' | 'air'
  cabinetMaxPowerW: number
  connectors: CatalogueConnector[]
}

export interface CatalogueSite {
  id: string
  timezone: string
  gridLimitW: number | null
  /** The site's tariff: session costs and the price drivers see. */
  tariff: Tariff
  /** SoC a typical driver arrives with: the mode of the site's arrival distribution. */
  arrivalSocPct: number
  /** Loads on the grid connection that no station meters (the lounge), kW by local hour 0–23; null if none. */
  auxKwByHour: number[] | null
  vehicles: VehicleCurve[]
  stations: Map<string, CatalogueStation>
}

/** Sites by id, and their descriptions as `GET /sites/:id` serves them; empty when there are no site files. */
export interface SiteCatalogue {
  sites: Map<string, CatalogueSite>
  descriptions: Map<string, Site>
}

function vehicleCurve(model: VehicleModel): VehicleCurve | null {
  const dc = model.dc
  if (dc === undefined) return null
  return {
    id: model.id,
    name: model.name,
    batteryKwh: model.batteryKwh,
    voltageClass: dc.voltageClass,
    nominalPackVoltageV: dc.nominalPackVoltageV,
    maxCurrentA: dc.maxCurrentA,
    curve: dc.curve,
  }
}

function catalogueStation(station: StationConfig): CatalogueStation {
  return {
    id: station.id,
    name: station.name,
    cooling: station.cooling,
    cabinetMaxPowerW: station.cabinetMaxPowerKw * 1000,
    connectors: station.connectors.map((c) => ({
      id: c.id,
      kind: c.kind,
      standard: c.standard,
      maxPowerW: c.maxPowerKw * 1000,
      maxCurrentA: c.maxCurrentA,
      minVoltageV: c.minVoltageV,
      maxVoltageV: c.maxVoltageV,
      liquidCooled: c.liquidCooling !== undefined,
      priority: c.priority,
    })),
  }
}

/** The catalogue's view of a valid site description. */
export function catalogueSite(site: Site): CatalogueSite {
  return {
    id: site.id,
    timezone: site.timezone,
    gridLimitW: Math.round(gridLimitW(site.grid)),
    tariff: site.tariff,
    arrivalSocPct: site.sessions.arrivalSocPct.mode,
    auxKwByHour: [...site.loungeKwByHour],
    vehicles: site.vehicles.map(vehicleCurve).filter((v) => v !== null),
    stations: new Map(site.stations.map((s) => [s.id, catalogueStation(s)])),
  }
}

/**
 * Validates one parsed site file against the contract's site description; throws an error naming the
 * file and every problem's path, so a bad file stops the API at start-up rather than serving guesses.
 */
export function parseSiteFile(value: unknown, file: string): Site {
  const problems = siteFileProblems(SiteFileSchema, value)
  if (problems.length > 0) {
    throw new Error(
      `site file ${file} is not a valid site description:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    )
  }
  return siteDescription(value as Site)
}

/** Reads and validates every `*.json` in `sitesDir`; a missing directory is not an error (the API still serves live data). */
export function loadCatalogue(sitesDir: string): SiteCatalogue {
  const catalogue: SiteCatalogue = { sites: new Map(), descriptions: new Map() }
  let files: string[] = []
  try {
    files = readdirSync(sitesDir).filter((f) => f.endsWith('.json'))
  } catch {
    // No site files: live data and history still work, without grid limits, prices or vehicle estimates.
  }
  for (const f of files.sort()) {
    const path = join(sitesDir, f)
    let value: unknown
    try {
      value = JSON.parse(readFileSync(path, 'utf8'))
    } catch (err) {
      throw new Error(`site file ${path} is not JSON: ${(err as Error).message}`)
    }
    const site = parseSiteFile(value, path)
    if (catalogue.descriptions.has(site.id)) throw new Error(`site file ${path}: site id ${site.id} repeats`)
    catalogue.descriptions.set(site.id, site)
    catalogue.sites.set(site.id, catalogueSite(site))
  }
  return catalogue
}
