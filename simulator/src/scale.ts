import type { SiteConfig } from './site-config-schema.ts'

/**
 * A city-scale variant of a site for load tests: `stations` synthetic stations, cloned from the
 * site's stations in turn (`zn-super-1`, `kc-fast-1-1`, …, `zn-super-2`, …) — or only from the
 * stations named in `templateIds`. The grid connection and the lounge grow with the number of copies
 * of the template set, so load management behaves per copy as it does on the original; arrivals
 * already scale with the number of connectors.
 */
export function scaleSite(config: SiteConfig, stations: number, templateIds?: readonly string[]): SiteConfig {
  const templates = templateIds ? config.stations.filter((s) => templateIds.includes(s.id)) : config.stations
  const missing = templateIds?.filter((id) => !templates.some((s) => s.id === id)) ?? []
  if (missing.length > 0 || templates.length === 0) {
    throw new Error(`no station ${missing.join(', ')} in site ${config.id} to clone`)
  }
  const copies = Math.ceil(stations / templates.length)
  // Arrival classes whose connectors were all left out would have nobody to serve.
  const classes = new Set(templates.flatMap((s) => s.connectors.map((c) => c.arrivalClass)))
  return {
    ...config,
    arrivalClasses: config.arrivalClasses
      .filter((c) => classes.has(c.id))
      .map((c) => ({ ...c, alsoUses: c.alsoUses.filter((id) => classes.has(id)) })),
    grid: { ...config.grid, transformerKva: config.grid.transformerKva * copies },
    loungeKwByHour: config.loungeKwByHour.map((kw) => kw * copies),
    stations: Array.from({ length: stations }, (_, i) => {
      const template = templates[i % templates.length] as SiteConfig['stations'][number]
      const copy = Math.floor(i / templates.length) + 1
      return { ...template, id: `${template.id}-${copy}`, name: `${template.name} #${copy}` }
    }),
  }
}
