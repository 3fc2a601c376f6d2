import { stationLoadW, type LiveSiteTotals, type LiveStation } from '@evmon/contracts'

/**
 * Aggregates stations into per-site totals: power of online, fresh stations, headroom to the grid
 * limit, and connectors by status (`Offline` for connectors of offline or stale stations).
 */
export function siteTotals(
  stations: readonly LiveStation[],
  gridLimitW: (site: string) => number | null,
): LiveSiteTotals[] {
  const bySite = new Map<string, LiveSiteTotals>()
  for (const s of stations) {
    let t = bySite.get(s.site)
    if (t === undefined) {
      const limit = gridLimitW(s.site)
      t = {
        site: s.site,
        power_w: 0,
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
    if (live) t.power_w += stationLoadW(s.grid_power_w, s.connectors)
    for (const c of s.connectors) {
      const key = live ? (c.status ?? 'Unknown') : 'Offline'
      t.connectors[key] = (t.connectors[key] ?? 0) + 1
    }
  }
  for (const t of bySite.values()) if (t.grid_limit_w !== null) t.headroom_w = t.grid_limit_w - t.power_w
  return [...bySite.values()].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0))
}
