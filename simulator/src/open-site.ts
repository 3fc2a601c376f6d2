import { startTimeOf, type SimulatorConfig } from './config.ts'
import { scaleSite } from './scale.ts'
import { loadSiteConfig } from './site-config.ts'
import { createSite, type Site } from './site.ts'
import { loadState, saveState, statePathFor } from './state-file.ts'

/** A site ready to run, and where its registers are kept between runs. */
export interface OpenedSite {
  site: Site
  /** Identifies the state: the site id, with the scale for a scale run (its stations differ). */
  stateKey: string
  /** Absent when the run keeps no state. */
  statePath?: string
  /** Writes the current registers to the state file, if the run keeps one. */
  saveState(): void
}

/**
 * Loads the site file (scaled to `--scale` stations if asked), builds the model at the configured
 * start time and, when a state file exists, continues the registers where the last run left them.
 */
export function openSite(config: SimulatorConfig): OpenedSite {
  const base = loadSiteConfig(config.sitePath)
  const scale = config.scaleStations
  const siteConfig = scale === undefined ? base : scaleSite(base, scale, config.scaleFrom)
  const site = createSite(siteConfig, config.seed, startTimeOf(config), {
    sampleIntervalMs: config.sampleIntervalMs,
  })
  const stateKey =
    scale === undefined
      ? base.id
      : `${base.id}-scale${scale}${config.scaleFrom ? `-${config.scaleFrom.join('-')}` : ''}`
  const statePath = config.statePath === undefined ? undefined : statePathFor(config.statePath, stateKey)
  if (statePath !== undefined) {
    const saved = loadState(statePath, stateKey)
    if (saved) site.restore(saved)
  }
  return {
    site,
    stateKey,
    ...(statePath === undefined ? {} : { statePath }),
    saveState() {
      if (statePath !== undefined) saveState(statePath, stateKey, site.nowMs, site.registers())
    },
  }
}
