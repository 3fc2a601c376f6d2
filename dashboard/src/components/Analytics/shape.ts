import type { EfficiencyRow, UtilisationRow } from '@evmon/contracts'
import { fromWallTime } from '@evmon/contracts/site'
import { siteTimeZone } from '../../stores/site.ts'

// Analytics answers shaped for the heatmap and the charts: pure functions, tested without a browser.

export const HOURS = Array.from({ length: 24 }, (_, h) => String(h).padStart(2, '0'))

export interface Heatmap {
  /** Station ids, in the order the rows first name them. */
  stations: string[]
  /** Occupancy 0–1 by station, one value per local hour 00–23; null where there is no row. */
  cells: Record<string, (number | null)[]>
  /** The largest value, to scale colours; at least a small floor so an idle site is not all red. */
  max: number
}

/** Station-level occupancy by hour of day (`group=hour` rows) as a stations × 24 grid. */
export function toHeatmap(
  rows: readonly UtilisationRow[],
  value: 'occupancy' | 'time_utilisation' = 'occupancy',
): Heatmap {
  const stations: string[] = []
  const cells: Record<string, (number | null)[]> = {}
  let max = 0.05
  for (const row of rows) {
    if (row.level !== 'station' || row.station === null || row.bucket === null) continue
    const hour = Number(row.bucket)
    if (!Number.isInteger(hour) || hour < 0 || hour > 23) continue
    let line = cells[row.station]
    if (!line) {
      line = Array<number | null>(24).fill(null)
      cells[row.station] = line
      stations.push(row.station)
    }
    const v = row[value]
    line[hour] = v
    if (v !== null && v > max) max = v
  }
  return { stations, cells, max }
}

/** A heatmap cell's colour intensity 0–1, or null for "no data". */
export function heatLevel(value: number | null, max: number): number | null {
  if (value === null) return null
  return Math.min(1, Math.max(0, value / max))
}

export interface DailySeries {
  /** `YYYY-MM-DD` in the site's zone. */
  days: string[]
  occupancyPct: (number | null)[]
  availabilityPct: (number | null)[]
  sessions: number[]
  energyKwh: number[]
  gridKwh: (number | null)[]
  efficiencyPct: (number | null)[]
}

const pct = (r: number | null | undefined) => (r == null ? null : r * 100)

/** Site-level daily rows of both routes (`group=day`) merged by day, oldest first. */
export function toDailySeries(
  utilisation: readonly UtilisationRow[],
  efficiency: readonly EfficiencyRow[],
): DailySeries {
  const util = new Map<string, UtilisationRow>()
  const eff = new Map<string, EfficiencyRow>()
  for (const r of utilisation) if (r.level === 'site' && r.bucket) util.set(r.bucket, r)
  for (const r of efficiency) if (r.level === 'site' && r.bucket) eff.set(r.bucket, r)
  const days = [...new Set([...util.keys(), ...eff.keys()])].sort()
  return {
    days,
    occupancyPct: days.map((d) => pct(util.get(d)?.occupancy)),
    availabilityPct: days.map((d) => pct(util.get(d)?.availability)),
    sessions: days.map((d) => util.get(d)?.sessions ?? 0),
    energyKwh: days.map((d) => (eff.get(d)?.energy_wh ?? util.get(d)?.energy_wh ?? 0) / 1000),
    gridKwh: days.map((d) => {
      const wh = eff.get(d)?.grid_energy_wh
      return wh == null ? null : wh / 1000
    }),
    efficiencyPct: days.map((d) => pct(eff.get(d)?.efficiency)),
  }
}

/** A `YYYY-MM-DD` day as UTC ms of its noon at the site: any formatting in site time keeps the date. */
export function dayToMs(day: string): number {
  return fromWallTime(`${day}T12:00`, siteTimeZone.value)
}
