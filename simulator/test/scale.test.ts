import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { DEFAULTS } from '../src/defaults.ts'
import { dryRunMessages } from '../src/dry-run.ts'
import { scaleSite } from '../src/scale.ts'
import { parseSiteConfig, parseTariffFile } from '../src/site-config.ts'
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

describe('tariff file', () => {
  test('the site file names the one tariff file the API reads; a broken tariff is refused with every problem', () => {
    const apiDefault = fileURLToPath(new URL('../../config/tariffs/chongqing.json', import.meta.url))
    const site = beibei()
    expect(resolve(dirname(DEFAULTS.sitePath), site.tariffFile)).toBe(apiDefault)
    expect(site.tariff).toEqual(JSON.parse(readFileSync(apiDefault, 'utf8')))
    const broken = { ...JSON.parse(readFileSync(apiDefault, 'utf8')), hours: ['valley', 'noon'] }
    expect(() => parseTariffFile(broken, 'x.json')).toThrow(/x\.json[\s\S]*\/hours/)
    expect(() => parseSiteConfig({ ...beibeiJson(), tariffFile: 'nowhere.json' })).toThrow(/cannot read/)
  })
})
