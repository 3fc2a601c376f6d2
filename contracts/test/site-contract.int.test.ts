import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'

// One home for each fact of the site: the tariff, the vehicle curves, the thermal limits and the
// site's time zone are each defined in one source file of contracts/src/site/ and imported from there
// by the services that use them. Read from the sources themselves, so a second copy fails here.

const root = fileURLToPath(new URL('../..', import.meta.url))
const WORKSPACES = ['contracts', 'runtime', 'broker', 'ingest', 'api', 'simulator', 'dashboard', 'gateway']

/** Every non-test source file of the workspaces, by path relative to the repository. */
const sources = new Map<string, string>()
for (const ws of WORKSPACES) {
  const dir = join(root, ws, 'src')
  if (!existsSync(dir)) continue
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!/\.(ts|vue)$/.test(file) || /\.test\.ts$/.test(file)) continue
    sources.set(`${ws}/src/${file}`, readFileSync(join(dir, file), 'utf8'))
  }
}

/** Files that declare `name` (export or not): where a fact is defined, not where it is re-exported. */
function definitions(name: string): string[] {
  const declared = new RegExp(
    `^\\s*(export\\s+)?(async\\s+)?(function|const|let|type|interface|class)\\s+${name}\\b`,
    'm',
  )
  return [...sources].filter(([, text]) => declared.test(text)).map(([path]) => path)
}

/** Files of `workspace` that import one of `names` from the contracts package. */
function importers(workspace: string, names: readonly string[]): string[] {
  const from = /import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'@evmon\/contracts(?:\/site)?'/g
  return [...sources]
    .filter(([path]) => path.startsWith(`${workspace}/src/`))
    .filter(([, text]) =>
      [...text.matchAll(from)].some(([, list]) =>
        (list ?? '').split(',').some((item) => names.includes(item.replace(/^\s*type\s+/, '').trim())),
      ),
    )
    .map(([path]) => path)
}

const FACTS = [
  {
    fact: 'the tariff (its schema and its engine)',
    home: {
      TariffSchema: 'schema.ts',
      priceAt: 'tariff.ts',
      energyCost: 'tariff.ts',
      compileTariff: 'tariff.ts',
    },
    users: { simulator: ['compileTariff'], api: ['priceAt', 'nextCheaper', 'energyCost'] },
  },
  {
    fact: 'the vehicle curves (their schema and their one reading)',
    home: { VehicleSchema: 'schema.ts', dcCurveW: 'vehicle-curve.ts', interpolate: 'piecewise-linear.ts' },
    // The API's driver estimates (api/src/availability/charging.ts) read curves with dcCurveW.
    users: {
      simulator: ['dcCurveW', 'VehicleModel'],
      api: ['dcCurveW', 'VehicleModel'],
    },
  },
  {
    fact: 'the thermal limits',
    home: { DERATE_START_C: 'thermal.ts', DERATE_ZERO_C: 'thermal.ts', derateShare: 'thermal.ts' },
    users: {
      simulator: ['derateShare'],
      api: ['DERATE_START_C'],
      dashboard: ['DERATE_START_C', 'derateShare'],
    },
  },
  {
    fact: 'the site’s time zone (a property of the site description)',
    home: { SITE_PROPERTIES: 'schema.ts', SiteSchema: 'schema.ts' },
    users: { simulator: ['SITE_PROPERTIES'], api: ['SiteFileSchema', 'Site'], dashboard: ['Site'] },
  },
] as const

describe('each fact of the site lives in one source file', () => {
  test.each(FACTS)('$fact', ({ home, users }) => {
    for (const [name, file] of Object.entries(home)) {
      expect(definitions(name), name).toEqual([`contracts/src/site/${file}`])
    }
    for (const [workspace, names] of Object.entries(users)) {
      expect(importers(workspace, names), `${workspace} imports ${names.join(' or ')}`).not.toEqual([])
    }
  })

  test('the charging curves are read once: the API’s estimates read them with the contract’s dcCurveW', () => {
    expect(sources.get('api/src/availability/charging.ts')).toMatch(/\bdcCurveW\(/)
    expect(definitions('dcCurveW')).toEqual(['contracts/src/site/vehicle-curve.ts'])
  })

  test('no source outside the contract names a time zone or a fixed UTC offset of its own', () => {
    const zone = /'(Asia|Europe|America|Africa|Australia|Pacific)\/[A-Za-z_]+'|[+-]0?8:00'|8 \* 3_?600_?000/
    const offenders = [...sources].filter(
      ([path, text]) => zone.test(text) && !path.startsWith('contracts/src/site/'),
    )
    expect(offenders.map(([path]) => path)).toEqual([])
  })

  test('the second copies are gone: no tariff file, no simulator tariff, site or curve module of its own', () => {
    expect(existsSync(join(root, 'config/tariffs'))).toBe(false)
    for (const gone of ['simulator/src/tariff.ts', 'dashboard/src/site.ts']) {
      expect(existsSync(join(root, gone)), gone).toBe(false)
    }
    const tariffFileMentions = [...sources].filter(([, text]) => /tariffFile|EVMON_TARIFF_FILE/.test(text))
    expect(tariffFileMentions.map(([path]) => path)).toEqual([])
  })
})
