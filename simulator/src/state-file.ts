import { readFileSync } from 'node:fs'
import { writeFileAtomicallySync } from '@evmon/runtime'
import type { SiteRegisters } from './site.ts'

/** Where a site keeps its state: `{site}` in the configured path becomes the site's id. */
export function statePathFor(template: string, siteKey: string): string {
  return template.replaceAll('{site}', siteKey)
}

/** A state file that cannot be used: the user's to fix (or to pass `--state off`). */
export class StateFileError extends Error {
  override name = 'StateFileError'
}

interface StateFile {
  v: 1
  site: string
  /** Simulated time of the last sample counted in the registers, UTC ms. */
  savedAtMs: number
  registers: SiteRegisters
}

/**
 * Reads the registers an earlier run of `site` left; undefined when there is no file yet. A file of
 * another site or in an unknown format is an error: silently starting from 0 would make every meter
 * run backwards to ingest.
 */
export function loadState(path: string, site: string): SiteRegisters | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  let state: Partial<StateFile>
  try {
    state = JSON.parse(text) as Partial<StateFile>
  } catch {
    throw new StateFileError(`${path} is not valid JSON`)
  }
  if (state.v !== 1 || typeof state.registers !== 'object' || state.registers === null) {
    throw new StateFileError(`${path} is not a simulator state file (version 1)`)
  }
  if (state.site !== site) {
    throw new StateFileError(`${path} holds the state of ${state.site}, not ${site}`)
  }
  return state.registers
}

/** Writes the registers atomically and durably, so a crash never leaves half a file. */
export function saveState(path: string, site: string, savedAtMs: number, registers: SiteRegisters): void {
  const state: StateFile = { v: 1, site, savedAtMs, registers }
  writeFileAtomicallySync(path, JSON.stringify(state))
}
