import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import {
  nextCheaper,
  priceAt,
  type AvailabilityConnector,
  type AvailabilityResponse,
  type LiveStation,
} from '@evmon/contracts'
import type { RunningSession } from '../live/live-state.ts'
import { minutesToTarget, typicalPowerW, type ConnectorLimits } from './charging.ts'
import { auxLoadByHour, siteTotals } from '../live/site-totals.ts'
import type { CatalogueSite, SiteCatalogue } from '../sites/site-catalogue.ts'

/** Most drivers stop at 80%; one already past it is assumed to go to full. */
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
 * would charge there now (car curve at the typical arrival SoC, gun rating, what the cabinet leaves it
 * in its priority order and what the site grid connection has left, docs/metrics.md), when an occupied one frees, the price now and when a cheaper one
 * starts.
 */
export function availability(input: AvailabilityInput): AvailabilityResponse {
  const site: CatalogueSite | undefined = input.catalogue.sites.get(input.site)
  const timezone = site?.timezone ?? DEFAULT_TIME_ZONE
  // The same load as the live site totals: stale stations at their last known load, plus the lounge.
  const totals = siteTotals(input.stations, () => site?.gridLimitW ?? null, {
    loadW: auxLoadByHour(
      () => site?.auxKwByHour ?? null,
      () => timezone,
    ),
    now: input.now,
  })[0]
  const siteHeadroomW = totals?.headroom_w != null ? Math.max(0, totals.headroom_w) : Infinity
  const v800 = site?.vehicles.filter((v) => v.voltageClass === 800) ?? []
  const v400 = site?.vehicles.filter((v) => v.voltageClass === 400) ?? []
  const soc = site?.arrivalSocPct ?? 25
  const connectors: AvailabilityConnector[] = []
  for (const s of input.stations) {
    const live = s.online && !s.stale
    const described = site?.stations.get(s.station)
    const cabinetW = s.cabinet_max_power_w ?? described?.cabinetMaxPowerW ?? Infinity
    const priority = (id: number) => described?.connectors.find((d) => d.id === id)?.priority ?? 0
    for (const c of s.connectors) {
      const rated = described?.connectors.find((d) => d.id === c.id)
      const maxPowerW = c.max_power_w ?? rated?.maxPowerW ?? null
      const ownW = c.power_w ?? 0
      // The cabinet serves its guns in priority order: a gun yields to guns served before it and to
      // its equals, and takes from guns served after it (the 480 kW gun may take the whole cabinet).
      const aheadW = s.connectors
        .filter((o) => o.id !== c.id && priority(o.id) <= priority(c.id))
        .reduce((sum, o) => sum + (o.power_w ?? 0), 0)
      const availableW = Math.min(cabinetW - aheadW, siteHeadroomW + ownW)
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
  const tariff = site?.tariff ?? null
  return {
    site: input.site,
    ts: input.now,
    timezone,
    price: tariff === null ? null : priceAt(tariff, input.now, timezone),
    next_cheaper: tariff === null ? null : nextCheaper(tariff, input.now, timezone),
    connectors,
  }
}
