import type { ConnectorSample } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import type { SimMessage } from '../src/messages.ts'
import { createSite } from '../src/site.ts'
import { connectorSamples, JULY_NOON, quietBeibei } from './fixtures.ts'

const run = (site: ReturnType<typeof createSite>, seconds: number): SimMessage[] =>
  Array.from({ length: seconds }, () => site.step()).flat()

// A gun in a session that delivers nothing is SuspendedEVSE, and one reporting Charging delivers.
function checkConsistent(samples: readonly ConnectorSample[]): void {
  for (const c of samples.filter((s) => s.session !== undefined)) {
    if (c.status === 'Charging') expect(c.power_w).toBeGreaterThan(0)
    if (c.power_w === 0) expect(['SuspendedEVSE', 'SuspendedEV', 'Finishing']).toContain(c.status)
  }
}

describe('a gun the charger gives no power reports SuspendedEVSE, not Charging', () => {
  test('the 480 kW gun takes every module: the cabinet’s 160 kW guns wait in SuspendedEVSE, then charge', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 8, targetSocPct: 90 })
    site.plugIn('zn-super', 2, { vehicle: 'byd-han', socPct: 20, targetSocPct: 80 })
    const messages = run(site, 1800)
    const superGun = connectorSamples(messages, 'zn-super', 1)
    const fastGun = connectorSamples(messages, 'zn-super', 2)
    // While the supercharging gun holds all 12 modules (more than 440 kW), nothing is left for gun 2.
    const allModules = fastGun.filter((_, i) => (superGun[i]?.power_w ?? 0) > 440_000)
    expect(allModules.length).toBeGreaterThan(30)
    for (const c of allModules) {
      expect(c.power_w).toBe(0)
      expect(c.status).toBe('SuspendedEVSE')
    }
    // Once the 800 V car tapers, modules come free and gun 2 charges.
    expect(fastGun.some((c) => c.status === 'Charging' && c.power_w > 0)).toBe(true)
    checkConsistent(fastGun)
    const statuses = messages
      .filter((m) => m.kind === 'status' && m.station === 'zn-super' && m.payload.connector === 2)
      .map((m) => (m.kind === 'status' ? `${m.payload.status}:${m.payload.error_code}` : ''))
    expect(statuses).toContain('SuspendedEVSE:NoError')
    expect(statuses.indexOf('Charging:NoError')).toBeLessThan(statuses.indexOf('SuspendedEVSE:NoError'))
    expect(statuses.lastIndexOf('Charging:NoError')).toBeGreaterThan(
      statuses.indexOf('SuspendedEVSE:NoError'),
    )
  })

  test('load management that trims a gun to nothing suspends it; raising the limit resumes it', () => {
    const site = createSite(quietBeibei(), 1, Date.parse('2025-07-15T02:00:00+08:00'))
    site.plugIn('zn-super', 1, { vehicle: 'li-mega', socPct: 10, targetSocPct: 90 })
    site.plugIn('kc-fast-1', 1, { vehicle: 'byd-han', socPct: 20, targetSocPct: 80 })
    run(site, 120)
    // Room for the supercharging gun and nothing more: the fast gun is trimmed to 0 W.
    site.gridLimitW = 520_000
    const trimmed = connectorSamples(run(site, 60), 'kc-fast-1', 1)
    expect(trimmed.slice(2).every((c) => c.power_w === 0 && c.status === 'SuspendedEVSE')).toBe(true)
    site.gridLimitW = 1_187_500
    const restored = connectorSamples(run(site, 60), 'kc-fast-1', 1)
    expect(restored.slice(2).every((c) => c.power_w > 0 && c.status === 'Charging')).toBe(true)
    checkConsistent([...trimmed, ...restored])
  })
})
