import { describe, expect, test } from 'vitest'
import {
  curvePowerW,
  deliverablePowerW,
  minutesToTarget,
  type VehicleCurve,
} from '../../src/availability/charging.ts'

const car: VehicleCurve = {
  id: 'test',
  name: 'Test 800 V',
  batteryKwh: 100,
  voltageClass: 800,
  nominalPackVoltageV: 700,
  maxCurrentA: 600,
  curve: [
    { socPct: 10, powerKw: 400 },
    { socPct: 80, powerKw: 200 },
  ],
}
const gun = { maxPowerW: 480_000, maxCurrentA: 670, minVoltageV: 200, maxVoltageV: 1000, availableW: 480_000 }

describe('charging', () => {
  test('power is the tightest of curve, current, gun and what is left', () => {
    expect(curvePowerW(car, 45)).toBe(300_000)
    expect(deliverablePowerW(car, gun, 10)).toBe(400_000)
    expect(deliverablePowerW(car, { ...gun, maxCurrentA: 250 }, 10)).toBe(175_000)
    expect(deliverablePowerW(car, { ...gun, availableW: 80_000 }, 10)).toBe(80_000)
    expect(deliverablePowerW(car, { ...gun, maxVoltageV: 500 }, 10)).toBe(0)
  })

  test('minutes to target integrate the curve', () => {
    // 70 kWh at a mean of ≈290 kW (harmonic mean of 400→200) ≈ 14.6 min.
    expect(minutesToTarget(car, gun, 10, 80)).toBeCloseTo(14.6, 0)
    expect(minutesToTarget(car, { ...gun, maxVoltageV: 500 }, 10, 80)).toBeNull()
  })
})
