import { describe, expect, test } from 'vitest'
import { dryRunMessages } from '../src/dry-run.ts'
import { scaleSite } from '../src/scale.ts'
import { parseSiteConfig } from '../src/site-config.ts'
import { createSite } from '../src/site.ts'
import { beibei, beibeiJson, JULY_NOON, telemetryOf } from './fixtures.ts'

describe('scale mode', () => {
  test('clones the site’s stations in turn, with the grid and lounge of as many copies of the site', () => {
    const site = beibei()
    const city = scaleSite(site, 10)
    expect(city.stations.map((s) => s.id)).toEqual([
      'zn-super-1',
      'kc-fast-1-1',
      'kc-fast-2-1',
      'kc-ac-1',
      'zn-super-2',
      'kc-fast-1-2',
      'kc-fast-2-2',
      'kc-ac-2',
      'zn-super-3',
      'kc-fast-1-3',
    ])
    expect(city.grid.transformerKva).toBe(site.grid.transformerKva * 3)
    expect(city.loungeKwByHour[12]).toBe((site.loungeKwByHour[12] ?? 0) * 3)
    // Still a valid site file: the clones obey every rule the original does.
    expect(() => parseSiteConfig(structuredClone(city))).not.toThrow()
  })

  test('clones only the named stations when asked, keeping only the arrival classes they serve', () => {
    const city = scaleSite(beibei(), 3, ['kc-ac'])
    expect(city.stations.map((s) => s.id)).toEqual(['kc-ac-1', 'kc-ac-2', 'kc-ac-3'])
    expect(city.arrivalClasses.map((c) => c.id)).toEqual(['ac'])
    expect(() => parseSiteConfig(structuredClone(city))).not.toThrow()
    expect(() => scaleSite(beibei(), 3, ['nowhere'])).toThrow(/no station nowhere/)
  })

  test('every synthetic station publishes one telemetry message per second', () => {
    const city = createSite(scaleSite(beibei(), 40), 1, JULY_NOON)
    expect(city.connectorCount).toBe(110)
    const messages = [...dryRunMessages(city, 60)]
    const timestamps = new Set(telemetryOf(messages).map((t) => t.ts))
    expect(timestamps.size).toBe(60)
    expect(messages.filter((m) => m.kind === 'telemetry').length).toBeGreaterThan(0.95 * 40 * 60)
    expect(new Set(messages.map((m) => m.station)).size).toBe(40)
  })
})

describe('tariff', () => {
  test('the tariff is part of the site file; a broken one is refused with every problem', () => {
    expect(beibei().tariff.hours).toHaveLength(24)
    const json = beibeiJson()
    const broken = { ...json, tariff: { ...json.tariff, hours: ['valley', 'noon'], currency: 'yuan' } }
    expect(() => parseSiteConfig(broken, 'x.json')).toThrow(/^x\.json is not a valid site config/)
    expect(() => parseSiteConfig(broken, 'x.json')).toThrow(/\/tariff\/hours: /)
    expect(() => parseSiteConfig(broken, 'x.json')).toThrow(/\/tariff\/currency: /)
  })
})
