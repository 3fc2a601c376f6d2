import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isValidId, type Tariff, type VehicleCurve } from '@evmon/contracts'

// The API reads the parts of the site files it needs (the simulator owns their full schema): grid
// limit, time zone, connector ratings and the vehicle curves drivers' estimates are made from.

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
  /** SoC a typical driver arrives with: the mode of the site's arrival distribution. */
  arrivalSocPct: number
  /** Loads on the grid connection that no station meters (the lounge), kW by local hour 0–23; null if none. */
  auxKwByHour: number[] | null
  vehicles: VehicleCurve[]
  stations: Map<string, CatalogueStation>
}

/** Sites by id and the tariff; empty when the files are missing (the API still serves live data). */
export interface SiteCatalogue {
  sites: Map<string, CatalogueSite>
  tariff: Tariff | null
}

const DEFAULT_ARRIVAL_SOC_PCT = 25

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {})
const num = (v: unknown, fallback: number): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : fallback
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])

function parseVehicle(raw: Json): VehicleCurve | null {
  const dc = obj(raw.dc)
  const voltageClass = dc.voltageClass
  if (voltageClass !== 400 && voltageClass !== 800) return null
  return {
    id: String(raw.id),
    name: String(raw.name ?? raw.id),
    batteryKwh: num(raw.batteryKwh, 0),
    voltageClass,
    nominalPackVoltageV: num(dc.nominalPackVoltageV, voltageClass === 800 ? 720 : 380),
    maxCurrentA: num(dc.maxCurrentA, 0),
    curve: arr(dc.curve).map((p) => ({ socPct: num(obj(p).socPct, 0), powerKw: num(obj(p).powerKw, 0) })),
  }
}

function parseStation(raw: Json): CatalogueStation {
  return {
    id: String(raw.id),
    name: String(raw.name ?? raw.id),
    cooling: raw.cooling === 'liquid' ? 'liquid' : 'air',
    cabinetMaxPowerW: num(raw.cabinetMaxPowerKw, 0) * 1000,
    connectors: arr(raw.connectors).map((c) => {
      const o = obj(c)
      return {
        id: num(o.id, 0),
        kind: o.kind === 'ac' ? 'ac' : 'dc',
        standard: typeof o.standard === 'string' ? o.standard : null,
        maxPowerW: num(o.maxPowerKw, 0) * 1000,
        maxCurrentA: num(o.maxCurrentA, 0),
        minVoltageV: num(o.minVoltageV, 0),
        maxVoltageV: num(o.maxVoltageV, 0),
        liquidCooled: o.liquidCooling !== undefined,
        priority: num(o.priority, 0),
      }
    }),
  }
}

/** Parses one site file; throws with the file name when it is not JSON or has no valid id. */
export function parseSite(text: string, name: string): CatalogueSite {
  let raw: Json
  try {
    raw = obj(JSON.parse(text))
  } catch (err) {
    throw new Error(`site file ${name} is not JSON: ${(err as Error).message}`)
  }
  if (!isValidId(raw.id)) throw new Error(`site file ${name} has no valid id`)
  const grid = obj(raw.grid)
  const kva = num(grid.transformerKva, NaN)
  return {
    id: raw.id,
    timezone: typeof raw.timezone === 'string' ? raw.timezone : DEFAULT_TIME_ZONE,
    gridLimitW: Number.isFinite(kva) ? Math.round(kva * num(grid.powerFactor, 1) * 1000) : null,
    arrivalSocPct: num(obj(obj(raw.sessions).arrivalSocPct).mode, DEFAULT_ARRIVAL_SOC_PCT),
    auxKwByHour:
      arr(raw.loungeKwByHour).length === 24 ? arr(raw.loungeKwByHour).map((kw) => num(kw, 0)) : null,
    vehicles: arr(raw.vehicles)
      .map((v) => parseVehicle(obj(v)))
      .filter((v) => v !== null),
    stations: new Map(
      arr(raw.stations)
        .map((s) => parseStation(obj(s)))
        .map((s) => [s.id, s]),
    ),
  }
}

function parseTariff(text: string): Tariff {
  const raw = obj(JSON.parse(text))
  const e = obj(raw.energyPerKwh)
  const hours = arr(raw.hours).map((h) => (h === 'valley' || h === 'peak' ? h : 'flat'))
  if (hours.length !== 24) throw new Error('tariff hours must list 24 periods')
  const cp = obj(raw.criticalPeak)
  return {
    currency: String(raw.currency ?? 'CNY'),
    energyPerKwh: { valley: num(e.valley, 0), flat: num(e.flat, 0), peak: num(e.peak, 0) },
    hours,
    ...(raw.criticalPeak !== undefined && {
      criticalPeak: {
        months: arr(cp.months).map((m) => num(m, 0)),
        hours: arr(cp.hours).map((h) => num(h, -1)),
        upliftPct: num(cp.upliftPct, 0),
      },
    }),
    servicePerKwh: num(raw.servicePerKwh, 0),
  }
}

/** Reads every `*.json` in `sitesDir` and the tariff file; a missing directory or file is not an error. */
export function loadCatalogue(sitesDir: string, tariffFile: string): SiteCatalogue {
  const sites = new Map<string, CatalogueSite>()
  let files: string[] = []
  try {
    files = readdirSync(sitesDir).filter((f) => f.endsWith('.json'))
  } catch {
    // No site files: live data and history still work, without grid limits or vehicle estimates.
  }
  for (const f of files.sort()) {
    const site = parseSite(readFileSync(join(sitesDir, f), 'utf8'), f)
    sites.set(site.id, site)
  }
  let tariff: Tariff | null = null
  try {
    tariff = parseTariff(readFileSync(tariffFile, 'utf8'))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  return { sites, tariff }
}
