import type { EfficiencyRow, UtilisationRow } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import { heatLevel, toDailySeries, toHeatmap } from '../../../src/components/Analytics/shape.ts'

function util(
  level: UtilisationRow['level'],
  station: string | null,
  bucket: string,
  occupancy: number | null,
  sessions = 0,
): UtilisationRow {
  return {
    level,
    site: 'beibei',
    station,
    connector: null,
    bucket,
    occupancy,
    time_utilisation: occupancy,
    availability: 1,
    period_s: 3600,
    outage_s: 0,
    excluded_s: 0,
    energy_utilisation_dc: 0.1,
    energy_utilisation_ac: null,
    energy_wh: 1000,
    sessions,
  }
}

function eff(bucket: string, energy_wh: number, grid_energy_wh: number | null): EfficiencyRow {
  return {
    level: 'site',
    site: 'beibei',
    station: null,
    connector: null,
    bucket,
    energy_wh,
    grid_energy_wh,
    efficiency: grid_energy_wh ? energy_wh / grid_energy_wh : null,
    conversion_efficiency: null,
    charging_speed_w: null,
    speed_sessions: 0,
  }
}

describe('toHeatmap', () => {
  test('places station rows by local hour and leaves missing hours empty', () => {
    const map = toHeatmap([
      util('station', 'zn-super', '12', 0.4),
      util('station', 'kc-ac', '03', 0.1),
      util('station', 'zn-super', '00', 0.2),
      util('site', null, '12', 0.9),
      util('connector', 'zn-super', '12', 0.9),
    ])
    expect(map.stations).toEqual(['zn-super', 'kc-ac'])
    expect(map.cells['zn-super']![12]).toBe(0.4)
    expect(map.cells['zn-super']![0]).toBe(0.2)
    expect(map.cells['zn-super']![1]).toBeNull()
    expect(map.max).toBe(0.4)
  })

  test('an idle site does not paint its small values at full intensity', () => {
    const map = toHeatmap([util('station', 'a', '01', 0.01)])
    expect(heatLevel(0.01, map.max)).toBeCloseTo(0.2)
    expect(heatLevel(null, map.max)).toBeNull()
  })
})

describe('toDailySeries', () => {
  test('merges both routes by day in kWh and percent, oldest first', () => {
    const series = toDailySeries(
      [
        util('site', null, '2025-03-26', 0.12, 9),
        util('site', null, '2025-03-25', 0.1, 7),
        util('station', 'a', '2025-03-25', 1),
      ],
      [eff('2025-03-25', 95_000, 100_000), eff('2025-03-26', 50_000, null)],
    )
    expect(series.days).toEqual(['2025-03-25', '2025-03-26'])
    expect(series.sessions).toEqual([7, 9])
    expect(series.occupancyPct).toEqual([10, 12])
    expect(series.energyKwh).toEqual([95, 50])
    expect(series.gridKwh).toEqual([100, null])
    expect(series.efficiencyPct).toEqual([95, null])
  })
})
