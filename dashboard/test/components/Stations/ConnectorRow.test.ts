// @vitest-environment happy-dom
import type { LiveConnector } from '@evmon/contracts'
import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, test } from 'vitest'
import { nextTick } from 'vue'
import { locale } from '../../../src/prefs.ts'
import ConnectorRow from '../../../src/components/Stations/ConnectorRow.vue'

const gun: LiveConnector = {
  id: 1,
  kind: 'dc',
  max_power_w: 480_000,
  liquid_cooled: true,
  status: 'Charging',
  error_code: 'NoError',
  power_w: 452_300,
  offered_w: 480_000,
  voltage_v: 768,
  current_a: 589,
  energy_wh: 1_000,
  soc_pct: 43.1,
  temp_c: 82.4,
  coolant_c: null,
  session: 'zn-super-1-000042',
}

function row(connector: LiveConnector, stationOnline = true) {
  return mount(ConnectorRow, { props: { connector, stationOnline, now: null } })
}

afterEach(() => {
  locale.value = 'en'
})

describe('ConnectorRow', () => {
  test('shows status, power and SoC in the status colour', () => {
    locale.value = 'en'
    const wrapper = row(gun)
    const li = wrapper.get('[data-testid="connector"]')
    expect(li.attributes('data-status')).toBe('Charging')
    expect(li.attributes('style')).toContain('--tone: var(--tone-charging)')
    expect(wrapper.text()).toContain('Charging')
    expect(wrapper.get('[data-testid="connector-power"]').text()).toBe('452 kW')
    expect(wrapper.text()).toContain('SoC 43%')
  })

  test('a liquid-cooled gun above 80 °C reads as derating, with its coolant temperature', () => {
    const wrapper = row({ ...gun, coolant_c: 38.4 })
    const thermal = wrapper.get('[data-testid="gun-thermal"]')
    expect(thermal.attributes('data-state')).toBe('derating')
    expect(wrapper.get('[data-testid="gun-temp"]').text()).toBe('82.4 °C')
    expect(wrapper.get('[data-testid="coolant-temp"]').text()).toBe('38.4 °C')
    expect(thermal.text()).toContain('derates from 80.0 °C')
  })

  test('an air-cooled connector has no thermal gauge', () => {
    expect(
      row({ ...gun, liquid_cooled: false })
        .find('[data-testid="gun-thermal"]')
        .exists(),
    ).toBe(false)
  })

  test('an offline station shows its connectors as offline, in grey', () => {
    const li = row(gun, false).get('[data-testid="connector"]')
    expect(li.attributes('data-status')).toBe('Offline')
    expect(li.attributes('style')).toContain('var(--tone-off)')
  })

  test('switching to Chinese relabels status, SoC and temperatures', async () => {
    const wrapper = row({ ...gun, status: 'Faulted', error_code: 'HighTemperature' })
    locale.value = 'zh-CN'
    await nextTick()
    expect(wrapper.text()).toContain('故障')
    expect(wrapper.text()).toContain('电量 43%')
    expect(wrapper.text()).toContain('枪温')
    expect(wrapper.text()).toContain('HighTemperature')
    expect(wrapper.text()).not.toContain('Faulted')
  })
})

describe('readings a charger does not report', () => {
  test('show as not reported, never as 0', () => {
    locale.value = 'en'
    const wrapper = row({ ...gun, power_w: null, max_power_w: null, kind: null, coolant_c: null })
    expect(wrapper.get('[data-testid="connector-power"]').text()).toBe('not reported')
    expect(wrapper.get('[data-testid="coolant-temp"]').text()).toBe('not reported')
    expect(wrapper.text()).toContain('max not reported')
    expect(wrapper.text()).not.toContain('0 kW')
  })

  test('in Chinese too', () => {
    locale.value = 'zh-CN'
    const wrapper = row({ ...gun, power_w: null })
    expect(wrapper.get('[data-testid="connector-power"]').text()).toBe('未上报')
  })

  test('a reported 0 W is still 0 kW', () => {
    expect(
      row({ ...gun, power_w: 0 })
        .get('[data-testid="connector-power"]')
        .text(),
    ).toBe('0 kW')
  })
})
