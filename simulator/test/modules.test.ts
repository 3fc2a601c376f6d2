import { describe, expect, test } from 'vitest'
import { dryRunMessages } from '../src/dry-run.ts'
import { createSite } from '../src/site.ts'
import { beibei, beibeiJson, connectorSamples, JULY_NOON, quietBeibei } from './fixtures.ts'

const json = beibeiJson()
const zn = json.stations.find((s) => s.id === 'zn-super')
const moduleW = (zn?.moduleKw ?? Number.NaN) * 1000
const cabinetW = (zn?.cabinetMaxPowerKw ?? Number.NaN) * 1000

// No random module failures: the test fails the modules it means to.
const site = () =>
  createSite(
    quietBeibei((j) => (j.faults.moduleFailure.perModulePerDay = 0)),
    1,
    JULY_NOON,
  )

describe('a power module failure removes its share of the cabinet, not a connector', () => {
  test('the 480 kW gun charges on with one 40 kW module fewer until the module is replaced', () => {
    const s = site()
    s.plugIn('zn-super', 1, { vehicle: 'li-mega', socPct: 10, targetSocPct: 90 })
    const before = connectorSamples(Array.from({ length: 60 }, () => s.step()).flat(), 'zn-super', 1)
    expect(Math.max(...before.map((c) => c.power_w))).toBeGreaterThan(cabinetW - moduleW)
    s.failModule('zn-super', 120)
    const during = Array.from({ length: 100 }, () => s.step()).flat()
    const samples = connectorSamples(during, 'zn-super', 1)
    expect(samples.every((c) => c.power_w <= cabinetW - moduleW)).toBe(true)
    expect(Math.max(...samples.map((c) => c.power_w))).toBe(cabinetW - moduleW)
    // Still charging: a module failure is no connector fault.
    expect(samples.every((c) => c.status === 'Charging')).toBe(true)
    expect(during.some((m) => m.kind === 'status')).toBe(false)
    expect(s.describe().find((st) => st.id === 'zn-super')?.failedModules).toBe(1)
    const after = connectorSamples(Array.from({ length: 60 }, () => s.step()).flat(), 'zn-super', 1)
    expect(after.at(-1)?.power_w).toBeGreaterThan(cabinetW - moduleW)
    expect(s.describe().find((st) => st.id === 'zn-super')?.failedModules).toBe(0)
  })

  test('AC piles have no modules', () => {
    const s = site()
    expect(() => s.failModule('kc-ac', 60)).toThrow(/no power modules/)
    expect(s.describe().find((st) => st.id === 'kc-ac')).not.toHaveProperty('failedModules')
  })

  test('over ten days at a high module failure rate, no connector is ever Faulted for a module', () => {
    const config = beibei()
    const hot = createSite(
      quietBeibei((j) => (j.faults.moduleFailure.perModulePerDay = 1)),
      3,
      JULY_NOON,
      { sampleIntervalMs: 60_000 },
    )
    let failedSeen = 0
    let faulted = 0
    for (let i = 0; i < 10 * 24 * 60; i++) {
      for (const m of hot.step()) if (m.kind === 'status' && m.payload.status === 'Faulted') faulted++
      if (i % 60 === 0) failedSeen = Math.max(failedSeen, ...hot.describe().map((s) => s.failedModules ?? 0))
    }
    expect(faulted).toBe(0)
    expect(failedSeen).toBeGreaterThan(0)
    // The default site's connector faults are the coolant leak only.
    expect(config.faults.hardFaults.map((f) => f.vendorError)).toEqual(['insulation fault: coolant leak'])
    const day = [...dryRunMessages(createSite(config, 5, JULY_NOON, { sampleIntervalMs: 10_000 }), 86_400)]
    const acFaults = day.filter(
      (m) => m.kind === 'status' && m.station === 'kc-ac' && m.payload.status === 'Faulted',
    )
    expect(acFaults).toEqual([])
  }, 30_000)
})
