import { readFileSync } from 'node:fs'
import { decodeMessage, isValidId, stationTopic } from '@evmon/contracts'
import { isOcppIdentity } from './chargers.ts'
import type { Description } from './station.ts'

/** How the gateway serves a site's chargers: as their central system, or in front of another one. */
export type SiteMode = { mode: 'central' } | { mode: 'proxy'; upstream: string }

/** The sites file: each site's mode, and what OCPP does not say about each charger (see gateway/README.md). */
export interface Sites {
  mode(site: string): SiteMode
  description(site: string, identity: string): Description | undefined
}

const SITE_KEYS = new Set(['mode', 'upstream', 'chargers'])
const DESCRIPTION_KEYS = new Set([
  'name',
  'location',
  'timezone',
  'cooling',
  'cabinet_max_power_w',
  'connectors',
])

/**
 * Loads `{"sites": {"<site>": {"mode", "upstream", "chargers": {"<identity>": {description}}}}}`. Each description is checked
 * the way its meta will be (the contract's StationMeta), so a mistake stops the start with the charger
 * named instead of silently leaving its meta unpublished.
 */
export function loadSites(path: string | undefined): Sites {
  if (!path) return { mode: () => ({ mode: 'central' }), description: () => undefined }
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`sites file ${path}: ${(err as Error).message}`)
  }
  const problems: string[] = []
  const descriptions = new Map<string, Description>()
  const modes = new Map<string, SiteMode>()
  const sites = (parsed as { sites?: unknown }).sites
  if (typeof sites !== 'object' || sites === null) throw new Error(`sites file ${path}: no "sites" object`)
  for (const [site, body] of Object.entries(sites)) {
    if (!isValidId(site)) problems.push(`site ${JSON.stringify(site)} is not a valid id`)
    const { mode = 'central', upstream } = (body ?? {}) as { mode?: unknown; upstream?: unknown }
    if (mode === 'proxy') {
      if (typeof upstream === 'string' && /^wss?:\/\/[^/]/.test(upstream)) {
        modes.set(site, { mode: 'proxy', upstream: upstream.replace(/\/+$/, '') })
      } else
        problems.push(
          `${site}: mode "proxy" needs "upstream": "ws(s)://host/path" (the charger identity is appended)`,
        )
    } else if (mode !== 'central') problems.push(`${site}: mode must be "central" or "proxy"`)
    const extra = Object.keys(body ?? {}).filter((k) => !SITE_KEYS.has(k))
    if (extra.length > 0) problems.push(`${site}: unknown fields ${extra.join(', ')}`)
    const chargers = (body as { chargers?: unknown })?.chargers ?? {}
    if (typeof chargers !== 'object' || chargers === null) {
      problems.push(`${site}: "chargers" is not an object`)
      continue
    }
    for (const [identity, d] of Object.entries(chargers)) {
      const where = `${site}/${identity}`
      if (!isOcppIdentity(identity)) problems.push(`${where}: not an OCPP identity`)
      const unknown = Object.keys(d ?? {}).filter((k) => !DESCRIPTION_KEYS.has(k))
      if (unknown.length > 0) problems.push(`${where}: unknown fields ${unknown.join(', ')}`)
      const meta = { v: 1, name: identity, connectors: [], ...(d as object) }
      const checked = decodeMessage(
        stationTopic('check', 'check', 'meta'),
        Buffer.from(JSON.stringify(meta)),
        Date.now(),
      )
      if (!checked.ok) problems.push(`${where}: ${checked.detail}`)
      else descriptions.set(`${site}/${identity}`, d as Description)
    }
  }
  if (problems.length > 0) throw new Error(`sites file ${path}:\n  ${problems.join('\n  ')}`)
  return {
    mode: (site) => modes.get(site) ?? { mode: 'central' },
    description: (site, identity) => descriptions.get(`${site}/${identity}`),
  }
}
