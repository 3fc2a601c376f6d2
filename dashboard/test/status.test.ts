import { CONNECTOR_STATUSES } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import { translate } from '../src/i18n/index.ts'
import { stationHealth, statusView, TONE_COLORS } from '../src/status.ts'

describe('statusView', () => {
  test.each([
    ['Available', 'available'],
    ['Charging', 'charging'],
    ['Preparing', 'busy'],
    ['Finishing', 'busy'],
    ['SuspendedEV', 'busy'],
    ['SuspendedEVSE', 'busy'],
    ['Reserved', 'busy'],
    ['Faulted', 'fault'],
    ['Unavailable', 'off'],
  ] as const)('%s reads as %s', (status, tone) => {
    const view = statusView(status)
    expect(view.tone).toBe(tone)
    expect(view.color).toBe(TONE_COLORS[tone])
    expect(view.key).toBe(status)
  })

  test('colours follow the agreed scheme', () => {
    expect(statusView('Available').color).toBe('#22c55e')
    expect(statusView('Charging').color).toBe('#3b82f6')
    expect(statusView('SuspendedEV').color).toBe('#f59e0b')
    expect(statusView('Faulted').color).toBe('#ef4444')
    expect(statusView('Unavailable').color).toBe('#6b7280')
  })

  test('has a label in both languages for every OCPP status in the contract', () => {
    for (const status of CONNECTOR_STATUSES) {
      const { labelKey } = statusView(status)
      expect(translate('en', labelKey)).toBeTruthy()
      expect(translate('zh-CN', labelKey)).not.toBe(translate('en', labelKey))
    }
  })

  test('names the theme variable of its tone, so the light theme can darken it', () => {
    expect(statusView('Faulted').cssColor).toBe('var(--tone-fault)')
  })

  test('an offline station shows every connector offline, whatever it last reported', () => {
    expect(statusView('Charging', false)).toEqual({
      tone: 'off',
      labelKey: 'status.Offline',
      color: TONE_COLORS.off,
      cssColor: 'var(--tone-off)',
      key: 'Offline',
    })
  })

  test('a status not yet seen reads as unknown', () => {
    expect(statusView(null)).toMatchObject({ tone: 'off', key: 'Unknown' })
  })
})

describe('stationHealth', () => {
  test('offline wins over stale', () => {
    expect(stationHealth({ online: false, stale: true })).toBe('offline')
    expect(stationHealth({ online: true, stale: true })).toBe('stale')
    expect(stationHealth({ online: true, stale: false })).toBe('online')
  })
})
