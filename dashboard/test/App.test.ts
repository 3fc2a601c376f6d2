// @vitest-environment happy-dom
import { mount } from '@vue/test-utils'
import { describe, expect, test } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import App from '../src/App.vue'
import { MESSAGES } from '../src/i18n/messages.ts'
import { locale } from '../src/prefs.ts'

// The shell alone: an empty view on every path, so no view fetches from an API.
const router = createRouter({
  history: createMemoryHistory(),
  routes: [{ path: '/:rest(.*)*', component: { render: () => null } }],
})

describe('App', () => {
  test('says plainly, in either language, that the site shown is simulated', async () => {
    for (const code of ['en', 'zh-CN'] as const) {
      locale.value = code
      const wrapper = mount(App, { global: { plugins: [router] } })
      await router.isReady()
      const banner = wrapper.get('[data-testid="simulated-banner"]')
      expect(banner.text()).toBe(MESSAGES[code]['app.simulated'])
      expect(banner.attributes('role')).toBe('note')
      wrapper.unmount()
    }
    expect(MESSAGES.en['app.simulated']).toMatch(/simulat/i)
    expect(MESSAGES['zh-CN']['app.simulated']).toMatch(/模拟/)
  })
})
