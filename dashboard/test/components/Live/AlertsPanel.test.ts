// @vitest-environment happy-dom
import type { Alert } from '@evmon/contracts'
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import { locale } from '../../../src/prefs.ts'
import AlertsPanel from '../../../src/components/Live/AlertsPanel.vue'

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

  test('an operator gets an Acknowledge button per unacknowledged alert, which asks for that alert', async () => {
    locale.value = 'en'
    const acked = {
      ...alert('b', 'warning', 1),
      acknowledged_at: Date.UTC(2025, 6, 15, 4, 5),
      acknowledged_by: 'operator',
    }
    const wrapper = mount(AlertsPanel, {
      props: { alerts: [alert('a', 'critical', 2), acked], error: null, canAck: true },
    })
    const buttons = wrapper.findAll('[data-testid="alert-ack"]')
    expect(buttons).toHaveLength(1)
    expect(buttons[0]!.attributes('aria-label')).toBe('Acknowledge alert: alert a')
    await buttons[0]!.trigger('click')
    expect(wrapper.emitted('ack')).toEqual([['a']])
    const done = wrapper.findAll('[data-testid="alert"]')[1]!
    expect(done.find('[data-testid="alert-acked"]').text()).toMatch(
      /^Acknowledged by operator at \d{2}:\d{2}/,
    )
    expect(done.find('[data-testid="alert-ack"]').exists()).toBe(false)
  })

  test('no button without the role; buttons wait while an acknowledgement is on its way; failures are said', () => {
    locale.value = 'en'
    const alerts = [alert('a', 'critical', 2), alert('c', 'info', 1)]
    expect(
      mount(AlertsPanel, { props: { alerts, error: null } })
        .find('[data-testid="alert-ack"]')
        .exists(),
    ).toBe(false)
    const busy = mount(AlertsPanel, { props: { alerts, error: null, canAck: true, acking: 'a' } })
    const buttons = busy.findAll('[data-testid="alert-ack"]')
    expect(buttons.map((b) => b.attributes('disabled'))).toEqual(['', ''])
    expect(buttons[0]!.text()).toBe('Acknowledging…')
    const failed = mount(AlertsPanel, { props: { alerts, error: null, canAck: true, ackError: 'HTTP 404' } })
    expect(failed.find('[data-testid="alert-ack-error"]').text()).toBe('Could not acknowledge: HTTP 404')
    locale.value = 'zh-CN'
    expect(mount(AlertsPanel, { props: { alerts, error: null, canAck: true } }).text()).toContain('确认')
  })
})
