import { stationLoadW, type LiveSiteTotals, type LiveStation } from '@evmon/contracts'
import { localParts } from '@evmon/contracts/site'

/** Loads on a site's grid connection that no station meters (the Beibei drivers' lounge), W at `now`. */
export type AuxLoadW = (site: string, now: number) => number

/** An aux load given per local hour of day (kW, 24 values), as site files describe it. */
export function auxLoadByHour(
  kwByHour: (site: string) => readonly number[] | null,
  timeZone: (site: string) => string,
): AuxLoadW {
  return (site, now) => (kwByHour(site)?.[localParts(now, timeZone(site)).hour] ?? 0) * 1000
}

/**
 * Aggregates stations into per-site totals: the power on the site's grid connection, headroom to the
 * grid limit, and connectors by status (`Offline` for connectors of offline or stale stations).
 * A station that is offline or stale keeps charging while its link is down, so its last known load
 * still counts (and is reported apart as `stale_power_w`), and loads no station meters are added.
 */
export function siteTotals(
  stations: readonly LiveStation[],
  gridLimitW: (site: string) => number | null,
  aux: { loadW: AuxLoadW; now: number } = { loadW: () => 0, now: 0 },
): LiveSiteTotals[] {
  const bySite = new Map<string, LiveSiteTotals>()
  for (const s of stations) {
    let t = bySite.get(s.site)
    if (t === undefined) {
      const limit = gridLimitW(s.site)
      const auxW = aux.loadW(s.site, aux.now)
      t = {
        site: s.site,
        power_w: auxW,
        stale_power_w: 0,
        aux_power_w: auxW,
        grid_limit_w: limit,
        headroom_w: limit,
        stations: 0,
        online_stations: 0,
        stale_stations: 0,
        connectors: {},
      }
      bySite.set(s.site, t)
    }
    t.stations++
    const live = s.online && !s.stale
    if (s.online) t.online_stations++
    if (s.stale) t.stale_stations++
    const loadW = stationLoadW(s.grid_power_w, s.connectors)
    t.power_w += loadW
    if (!live) t.stale_power_w += loadW
    for (const c of s.connectors) {
      const key = live ? (c.status ?? 'Unknown') : 'Offline'
      t.connectors[key] = (t.connectors[key] ?? 0) + 1
    }
  }
  for (const t of bySite.values()) if (t.grid_limit_w !== null) t.headroom_w = t.grid_limit_w - t.power_w
  return [...bySite.values()].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))
}
