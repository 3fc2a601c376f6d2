import { describe, expect, test } from 'vitest'
import { parseSiteConfig, SiteConfigError } from '../src/site-config.ts'
import { beibei, beibeiJson } from './fixtures.ts'

const problemsOf = (value: unknown): readonly string[] => {
  try {
    parseSiteConfig(value, 'test.json')
  } catch (err) {
    if (err instanceof SiteConfigError) return err.problems
    throw err
  }
  return []
}

describe('site config', () => {
  test('the Beibei site has the four stations and eleven connectors of the site description', () => {
    const config = beibei()
    expect(config.timezone).toBe('Asia/Shanghai')
    expect(config.stations.map((s) => [s.id, s.cabinetMaxPowerKw, s.connectors.length])).toEqual([
      ['zn-super', 480, 3],
      ['kc-fast-1', 160, 2],
      ['kc-fast-2', 160, 2],
      ['kc-ac', 28, 4],
    ])
    const gun = config.stations[0]?.connectors[0]
    expect([gun?.maxPowerKw, gun?.maxCurrentA, gun?.minVoltageV, gun?.maxVoltageV]).toEqual([
      480, 670, 200, 1000,
    ])
    expect(gun?.liquidCooling).toBeDefined()
    expect(config.grid.transformerKva * config.grid.powerFactor).toBeCloseTo(1187.5, 6)
    expect(Math.min(...config.loungeKwByHour)).toBe(5)
    expect(Math.max(...config.loungeKwByHour)).toBe(25)
  })

  test('the validated config is frozen', () => {
    const config = beibei()
    expect(() => {
      ;(config.grid as { transformerKva: number }).transformerKva = 1
    }).toThrow()
  })

  test('schema problems are all listed at once, with their paths', () => {
    const json = beibeiJson() as unknown as Record<string, unknown>
    const stations = json.stations as Record<string, unknown>[]
    ;(stations[0] as Record<string, unknown>).cabinetMaxPowerKw = -480
    ;(stations[1] as Record<string, unknown>).colour = 'blue'
    delete json.timezone
    const problems = problemsOf(json)
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/stations\/0\/cabinetMaxPowerKw: /),
        expect.stringMatching(/^\/stations\/1\/colour: /),
        expect.stringMatching(/^\/timezone: /),
      ]),
    )
  })

  test('broken references and impossible numbers are all listed at once', () => {
    const json = beibeiJson()
    json.timezone = 'Asia/Beibei'
    const [zn, kc] = json.stations
    if (!zn || !kc) throw new Error('the Beibei site has lost stations')
    kc.id = 'zn-super'
    const gun = zn.connectors[0]
    if (!gun) throw new Error('the supercharging station has lost its gun')
    gun.arrivalClass = 'teleport'
    gun.minVoltageV = 1200
    const mega = json.vehicles.find((v) => v.id === 'li-mega')
    if (mega?.dc) mega.dc.peakKw = 999
    json.arrivalClasses[0]?.vehicleMix.push({ vehicle: 'flying-car', weight: 1 })
    const problems = problemsOf(json)
    for (const expected of [
      /^\/timezone: unknown time zone/,
      /^\/stations: station id zn-super repeats/,
      /^\/stations\/0\/connectors\/0\/arrivalClass: no arrival class "teleport"/,
      /^\/stations\/0\/connectors\/0: minVoltageV must be below maxVoltageV/,
      /^\/vehicles\/0\/dc\/peakKw: is 999 but the curve peaks at 520/,
      /^\/arrivalClasses\/0\/vehicleMix\/\d+: no vehicle "flying-car"/,
    ]) {
      expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(expected)]))
    }
  })

  test('a vehicle mix naming a car no connector of the class can charge is refused', () => {
    const json = beibeiJson()
    json.arrivalClasses.find((c) => c.id === 'ac')?.vehicleMix.push({ vehicle: 'zeekr-001', weight: 1 })
    expect(problemsOf(json)).toEqual([
      expect.stringMatching(/vehicleMix\/\d+: zeekr-001 cannot charge on any connector of this class/),
    ])
  })

  test('the error message names the source and every problem', () => {
    const error = new SiteConfigError('sites/x.json', ['/a: one', '/b: two'])
    expect(error.message).toBe('sites/x.json is not a valid site config:\n  - /a: one\n  - /b: two')
  })
})
