import {
  minutesToTarget,
  nextCheaper,
  priceAt,
  stationLoadW,
  typicalPowerW,
  type AvailabilityConnector,
  type AvailabilityResponse,
  type ConnectorLimits,
  type LiveStation,
} from '@evmon/contracts'
import type { RunningSession } from '../live/live-state.ts'
import { DEFAULT_TIMEZONE, type CatalogueSite, type SiteCatalogue } from '../sites/site-catalogue.ts'

/** Most drivers stop at 80% (calibration.md); one already past it is assumed to go to full. */
const assumedTargetPct = (socPct: number): number => (socPct < 80 ? 80 : 100)

/** What the availability answer is computed from: the site's live stations and the running sessions. */
export interface AvailabilityInput {
  site: string
  now: number
  stations: readonly LiveStation[]
  catalogue: SiteCatalogue
  running: (station: string, connector: number) => RunningSession | undefined
}

/**
 * Every connector of a site as a driver sees it: free or not, how fast a typical 800 V and 400 V car
 * would charge there now (car curve at the typical arrival SoC, gun rating, what the cabinet and the
 * site grid connection have left), when an occupied one frees, the price now and when a cheaper one
 * starts.
 */
export function availability(input: AvailabilityInput): AvailabilityResponse {
  const site: CatalogueSite | undefined = input.catalogue.sites.get(input.site)
  const timezone = site?.timezone ?? DEFAULT_TIMEZONE
  const sitePowerW = input.stations.reduce(
    (sum, s) => sum + (s.online && !s.stale ? stationLoadW(s.grid_power_w, s.connectors) : 0),
    0,
  )
  const siteHeadroomW = site?.gridLimitW != null ? Math.max(0, site.gridLimitW - sitePowerW) : Infinity
  const v800 = site?.vehicles.filter((v) => v.voltageClass === 800) ?? []
  const v400 = site?.vehicles.filter((v) => v.voltageClass === 400) ?? []
  const soc = site?.arrivalSocPct ?? 25
  const connectors: AvailabilityConnector[] = []
  for (const s of input.stations) {
    const live = s.online && !s.stale
    const described = site?.stations.get(s.station)
    const cabinetW = s.cabinet_max_power_w ?? described?.cabinetMaxPowerW ?? Infinity
    const stationPowerW = s.connectors.reduce((sum, c) => sum + (c.power_w ?? 0), 0)
    for (const c of s.connectors) {
      const rated = described?.connectors.find((d) => d.id === c.id)
      const maxPowerW = c.max_power_w ?? rated?.maxPowerW ?? null
      const ownW = c.power_w ?? 0
      const availableW = Math.min(cabinetW - stationPowerW + ownW, siteHeadroomW + ownW)
      const gun: ConnectorLimits | null =
        rated === undefined
          ? null
          : {
              maxPowerW: maxPowerW ?? rated.maxPowerW,
              maxCurrentA: rated.maxCurrentA,
              minVoltageV: rated.minVoltageV,
              maxVoltageV: rated.maxVoltageV,
              availableW: Math.max(0, availableW),
            }
      const kind = c.kind ?? rated?.kind ?? null
      const typical = (vehicles: typeof v800): number | null => {
        if (!live || gun === null) return null
        if (kind === 'ac') return Math.round(Math.min(gun.maxPowerW, gun.availableW))
        return typicalPowerW(vehicles, gun, soc)
      }
      let freeInMin: number | null = null
      if (live && c.status === 'Finishing') freeInMin = 0
      else if (
        live &&
        gun !== null &&
        c.soc_pct !== null &&
        (c.status === 'Charging' || c.status?.startsWith('Suspended'))
      ) {
        const name = input.running(s.station, c.id)?.vehicle
        const vehicle = site?.vehicles.find((v) => v.name === name || v.id === name)
        if (vehicle !== undefined)
          freeInMin = minutesToTarget(vehicle, gun, c.soc_pct, assumedTargetPct(c.soc_pct))
      }
      connectors.push({
        station: s.station,
        station_name: s.name ?? described?.name ?? null,
        connector: c.id,
        kind,
        standard: rated?.standard ?? null,
        status: live ? c.status : null,
        free: live && c.status === 'Available',
        max_power_w: maxPowerW,
        typical_800v_w: typical(v800),
        typical_400v_w: typical(v400),
        free_in_min: freeInMin,
      })
    }
  }
  const tariff = input.catalogue.tariff
  return {
    site: input.site,
    ts: input.now,
    timezone,
    price: tariff === null ? null : priceAt(tariff, input.now, timezone),
    next_cheaper: tariff === null ? null : nextCheaper(tariff, input.now, timezone),
    connectors,
  }
}
