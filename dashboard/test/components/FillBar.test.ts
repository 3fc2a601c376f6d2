// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import FillBar from '../../src/components/FillBar.vue'

describe('FillBar', () => {
  test('fills its share and stays out of the accessibility tree', () => {
    const wrapper = mount(FillBar, { props: { pct: 42.5 }, attrs: { class: 'soc-bar' } })
    expect(wrapper.classes()).toEqual(['fill-bar', 'soc-bar'])
    expect(wrapper.attributes('aria-hidden')).toBe('true')
    expect(wrapper.get('span > span').attributes('style')).toBe('width: 42.5%;')
  })
})
