import { describe, expect, test } from 'vitest'
import { TONE_COLORS } from '../../../src/status.ts'
import { toCurveSeries } from '../../../src/components/Sessions/curve.ts'

const detail = {
  started_at: 1_000,
  ended_at: 9_000,
  curve: [
    { t: 1_000, power_w: 0, soc_pct: 20, temp_c: null, energy_wh: 0 },
    { t: 5_000, power_w: 300_000, soc_pct: 40, temp_c: 45, energy_wh: 100 },
  ],
  status_events: [
    { t: 8_000, status: 'Finishing' as const, error_code: 'NoError' as const },
    { t: 1_500, status: 'Charging' as const, error_code: 'NoError' as const },
    { t: 6_000, status: 'Faulted' as const, error_code: 'HighTemperature' as const },
  ],
}

describe('session curve shaping', () => {
  test('power in kW, SoC and temperature share the time axis; start and end are marked', () => {
    const s = toCurveSeries(detail)
    expect(s.powerKw).toEqual([
      { x: 1_000, y: 0 },
      { x: 5_000, y: 300 },
    ])
    expect(s.hasTemp).toBe(true)
    expect(s.markers).toEqual([
      { t: 1_000, kind: 'start' },
      { t: 9_000, kind: 'end' },
    ])
  })

  test('status changes are marked in time order with their label and the colour of their status', () => {
    const s = toCurveSeries(detail)
    expect(s.statusMarks).toEqual([
      {
        t: 1_500,
        status: 'Charging',
        errorCode: null,
        labelKey: 'status.Charging',
        color: TONE_COLORS.charging,
        cssColor: 'var(--tone-charging)',
      },
      {
        t: 6_000,
        status: 'Faulted',
        errorCode: 'HighTemperature',
        labelKey: 'status.Faulted',
        color: TONE_COLORS.fault,
        cssColor: 'var(--tone-fault)',
      },
      {
        t: 8_000,
        status: 'Finishing',
        errorCode: null,
        labelKey: 'status.Finishing',
        color: TONE_COLORS.busy,
        cssColor: 'var(--tone-busy)',
      },
    ])
  })

  test('a running session has no end marker, and no status events mean no marks', () => {
    const s = toCurveSeries({ ...detail, ended_at: null, status_events: [] })
    expect(s.markers).toEqual([{ t: 1_000, kind: 'start' }])
    expect(s.statusMarks).toEqual([])
  })
})
