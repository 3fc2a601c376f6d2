import { describe, expect, test } from 'vitest'
import { DERATE_START_C } from '@evmon/contracts/site'
import { gaugePct, gunThermal } from '../../../src/components/Stations/thermal.ts'

describe('gunThermal', () => {
  test('warns within 10 K of the threshold and derates from 80 °C', () => {
    expect(gunThermal(45)?.state).toBe('normal')
    expect(gunThermal(70)?.state).toBe('warm')
    expect(gunThermal(DERATE_START_C)?.state).toBe('derating')
  })

  test('the current left falls linearly from 80 °C to none at 90 °C', () => {
    expect(gunThermal(60)?.currentFactor).toBe(1)
    expect(gunThermal(85)?.currentFactor).toBeCloseTo(0.5)
    expect(gunThermal(95)?.currentFactor).toBe(0)
  })

  test('an unmeasured temperature has no reading', () => {
    expect(gunThermal(null)).toBeNull()
  })

  test('the gauge clamps to its ends', () => {
    expect(gaugePct(-10)).toBe(0)
    expect(gaugePct(200)).toBe(100)
  })
})
