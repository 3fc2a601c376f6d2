// @vitest-environment happy-dom
import type { Alert } from '@evmon/contracts'
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import { locale } from '../../prefs.ts'
import AlertsPanel from './AlertsPanel.vue'

function alert(id: string, severity: Alert['severity'], started_at: number): Alert {
  return {
    id,
    type: 'high_temperature',
    severity,
    site: 'beibei',
    station: 'zn-super',
    connector: 1,
    message: `alert ${id}`,
    error_code: null,
    value: null,
    started_at,
    ended_at: null,
    acknowledged_at: null,
    acknowledged_by: null,
  }
}

describe('AlertsPanel', () => {
  test('lists the worst first, then the newest', () => {
    locale.value = 'en'
    const wrapper = mount(AlertsPanel, {
      props: {
        alerts: [
          alert('a', 'info', 3),
          alert('b', 'critical', 1),
          alert('c', 'warning', 2),
          alert('d', 'critical', 2),
        ],
        error: null,
      },
    })
    const items = wrapper.findAll('[data-testid="alert"]')
    expect(items.map((i) => i.attributes('data-severity'))).toEqual([
      'critical',
      'critical',
      'warning',
      'info',
    ])
    expect(items[0]!.text()).toContain('alert d')
    expect(items[0]!.text()).toContain('Critical')
  })

  test('says so when nothing is open, and when the API fails before any answer', () => {
    locale.value = 'en'
    expect(mount(AlertsPanel, { props: { alerts: [], error: null } }).text()).toContain('No open alerts.')
    expect(mount(AlertsPanel, { props: { alerts: null, error: 'HTTP 503' } }).text()).toContain(
      'Could not load data: HTTP 503',
    )
  })
})
