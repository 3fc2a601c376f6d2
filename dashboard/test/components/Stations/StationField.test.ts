// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import { locale } from '../../../src/prefs.ts'
import StationField from '../../../src/components/Stations/StationField.vue'

const stations = [
  { id: 'zn-super', name: 'Super charger' },
  { id: 'ac-07', name: null },
]

describe('StationField', () => {
  test('offers each station by name, else by id, and writes the choice back', async () => {
    locale.value = 'en'
    const wrapper = mount(StationField, {
      props: { modelValue: 'zn-super', stations },
      attrs: { 'data-testid': 'pick' },
    })
    expect(wrapper.get('label').text()).toContain('Station')
    const select = wrapper.get('select[data-testid="pick"]')
    expect(select.findAll('option').map((o) => [o.attributes('value'), o.text()])).toEqual([
      ['zn-super', 'Super charger'],
      ['ac-07', 'ac-07'],
    ])
    await select.setValue('ac-07')
    expect(wrapper.emitted('update:modelValue')).toEqual([['ac-07']])
  })

  test('puts an every-station choice first when the form allows one', () => {
    locale.value = 'en'
    const wrapper = mount(StationField, { props: { modelValue: '', stations, allLabel: 'All' } })
    const first = wrapper.findAll('option')[0]!
    expect([first.attributes('value'), first.text()]).toEqual(['', 'All'])
    expect((wrapper.get('select').element as HTMLSelectElement).value).toBe('')
  })
})
