import { describe, expect, test } from 'vitest'
import { canCharge, chargingProfile, voltageAtCurrentV, voltageAtPowerV } from '../src/charging-curve.ts'
import { createLocalTime } from '@evmon/contracts/site'
import { interpolate } from '@evmon/contracts/site'
import { beibei } from './fixtures.ts'

const config = beibei()
const profileOf = (id: string) => {
  const model = config.vehicles.find((v) => v.id === id)
  if (!model) throw new Error(`no vehicle ${id}`)
  return chargingProfile(model, config.battery)
}
const connector = (station: string, id: number) => {
  const c = config.stations.find((s) => s.id === station)?.connectors.find((c) => c.id === id)
  if (!c) throw new Error(`no connector ${station}/${id}`)
  return c
}

describe('charging curves', () => {
  test('interpolation is linear between breakpoints and flat beyond them', () => {
    const curve = [
      [10, 100],
      [20, 200],
    ] as const
    expect(interpolate(curve, 15)).toBe(150)
    expect(interpolate(curve, 0)).toBe(100)
    expect(interpolate(curve, 99)).toBe(200)
  })

  test('an 800 V NMC pack sits near 650 V at 10% and above 800 V full; LFP stays flat in the middle', () => {
    const nmc = profileOf('li-mega').dc
    expect(nmc?.ocvV(10)).toBeGreaterThan(630)
    expect(nmc?.ocvV(10)).toBeLessThan(670)
    expect(nmc?.ocvV(100)).toBeGreaterThan(800)
    const lfp = profileOf('xpeng-g6').dc
    const flat = (lfp?.ocvV(80) ?? 0) - (lfp?.ocvV(20) ?? 0)
    const climbing = (nmc?.ocvV(80) ?? 0) - (nmc?.ocvV(20) ?? 0)
    expect(flat).toBeLessThan(climbing / 3)
  })

  test('the terminal voltage rises by I·R under current; at a given power it solves V = OCV + (P/V)·R', () => {
    const dc = profileOf('li-mega').dc
    if (!dc) throw new Error('li-mega has no DC profile')
    expect(voltageAtCurrentV(dc, 30, 670) - dc.ocvV(30)).toBeCloseTo(670 * dc.resistanceOhm, 6)
    const v = voltageAtPowerV(dc, 30, 480_000)
    expect(v).toBeCloseTo(dc.ocvV(30) + (480_000 / v) * dc.resistanceOhm, 6)
    expect(voltageAtPowerV(dc, 30, 0)).toBe(dc.ocvV(30))
  })

  test('a cold battery accepts a fraction of its curve', () => {
    const dc = profileOf('li-mega').dc
    const warm = dc?.acceptanceW(30, 25) ?? 0
    expect(warm).toBeGreaterThan(400_000)
    expect(dc?.acceptanceW(30, -10)).toBeCloseTo(warm * 0.35, 6)
  })

  test('a car charges only where its kind and pack voltage fit', () => {
    expect(canCharge(profileOf('li-mega'), connector('zn-super', 1))).toBe(true)
    expect(canCharge(profileOf('li-mega'), connector('kc-ac', 1))).toBe(false)
    expect(canCharge(profileOf('phev-generic'), connector('kc-ac', 1))).toBe(true)
    expect(canCharge(profileOf('phev-generic'), connector('kc-fast-1', 1))).toBe(false)
    expect(canCharge(profileOf('li-mega'), { ...connector('kc-fast-1', 1), maxVoltageV: 500 })).toBe(false)
  })
})

describe('local time', () => {
  test('Beibei runs on UTC+8 without daylight saving', () => {
    const local = createLocalTime('Asia/Shanghai')
    // 25 March 2025 was a Tuesday.
    expect(local(Date.parse('2025-03-25T04:30:00Z'))).toEqual({
      hour: 12.5,
      dayOfYear: 84,
      month: 3,
      weekday: 2,
      day: Date.UTC(2025, 2, 25) / 86_400_000,
    })
    expect(local(Date.parse('2025-07-15T04:30:00Z')).hour).toBe(12.5)
    expect(local(Date.parse('2025-12-31T16:00:00Z'))).toMatchObject({ hour: 0, dayOfYear: 1, month: 1 })
  })

  test('zones with daylight saving follow their offset changes', () => {
    const local = createLocalTime('Europe/Berlin')
    expect(local(Date.parse('2025-03-30T00:59:00Z')).hour).toBeCloseTo(1 + 59 / 60, 9)
    expect(local(Date.parse('2025-03-30T01:00:00Z')).hour).toBe(3)
  })
})
