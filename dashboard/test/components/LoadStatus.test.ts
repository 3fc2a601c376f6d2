// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import { locale } from '../../src/prefs.ts'
import LoadStatus from '../../src/components/LoadStatus.vue'

describe('LoadStatus', () => {
  test('says the data is loading while no request has failed', () => {
    locale.value = 'en'
    const p = mount(LoadStatus, { props: { error: null }, attrs: { class: 'panel' } }).get('p')
    expect(p.text()).toBe('Loading…')
    expect(p.classes()).toEqual(expect.arrayContaining(['muted', 'panel']))
    expect(p.attributes('role')).toBeUndefined()
  })

  test('says why the last request failed, as an alert', () => {
    locale.value = 'en'
    const p = mount(LoadStatus, { props: { error: 'HTTP 503' }, attrs: { class: 'panel' } }).get('p')
    expect(p.text()).toBe('Could not load data: HTTP 503')
    expect(p.classes()).toEqual(expect.arrayContaining(['error-text', 'panel']))
    expect(p.attributes('role')).toBe('alert')
  })
})
