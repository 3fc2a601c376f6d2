import { describe, expect, test } from 'vitest'
import { deratedCurrentA, firstOrderLag, stepLiquidGun, type GunTemperatures } from '../src/thermal.ts'
import { beibei } from './fixtures.ts'

const cooling = beibei().stations[0]?.connectors[0]?.liquidCooling
if (!cooling) throw new Error('the Beibei supercharging gun has lost its liquid cooling')

const run = (state: GunTemperatures, currentA: number, ambientC: number, seconds: number) => {
  for (let s = 0; s < seconds; s++) state = stepLiquidGun(state, cooling, currentA, ambientC, 1)
  return state
}

describe('thermal model', () => {
  test('a first-order lag covers 63% of the way in one time constant, whatever the step', () => {
    expect(firstOrderLag(20, 30, 60, 60)).toBeCloseTo(20 + 10 * (1 - Math.exp(-1)), 9)
    let stepped = 20
    for (let i = 0; i < 60; i++) stepped = firstOrderLag(stepped, 30, 1, 60)
    expect(stepped).toBeCloseTo(firstOrderLag(20, 30, 60, 60), 9)
  })

  test('600 A heats the liquid-cooled gun by its I²R loss, and it cools back to ambient at rest', () => {
    const hot = run({ contactC: 25, coolantC: 25 }, 600, 25, 3600)
    const heatW = 600 * 600 * (cooling.resistanceMilliohm / 1000)
    expect(heatW).toBeCloseTo(360, 6)
    expect(hot.coolantC).toBeCloseTo(25 + heatW * cooling.coolantToAmbientKPerW, 1)
    expect(hot.contactC).toBeCloseTo(hot.coolantC + heatW * cooling.contactToCoolantKPerW, 1)
    const cooled = run(hot, 0, 25, 3600)
    expect(cooled.contactC).toBeCloseTo(25, 0)
    expect(cooled.coolantC).toBeLessThanOrEqual(cooled.contactC + 1e-9)
  })

  test('the current limit falls linearly from 80 °C to zero at 90 °C', () => {
    expect(deratedCurrentA(670, 60)).toBe(670)
    expect(deratedCurrentA(670, 80)).toBe(670)
    expect(deratedCurrentA(670, 85)).toBeCloseTo(335, 9)
    expect(deratedCurrentA(670, 90)).toBe(0)
    expect(deratedCurrentA(670, 120)).toBe(0)
  })
})
