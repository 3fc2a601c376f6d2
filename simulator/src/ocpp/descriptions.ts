import type { StationMeta } from '@evmon/contracts'
import { loadSiteConfig } from '../site-config.ts'
import { createSite } from '../site.ts'
import { ocppIdentityOf } from './options.ts'

/**
 * The gateway's sites file for a site's OCPP chargers: what OCPP does not say about a charger (its
 * name, location, cooling, gun ratings), taken from the description the station would publish over
 * MQTT, keyed by the identity it connects with. An operator writes the same by hand for real chargers.
 */
export function gatewaySitesFile(
  sitePath: string,
  stations: readonly string[],
): { sites: Record<string, { chargers: Record<string, Omit<StationMeta, 'v' | 'ocpp'>> }> } {
  const config = loadSiteConfig(sitePath)
  const site = createSite(config, 1, Date.now())
  const chargers: Record<string, Omit<StationMeta, 'v' | 'ocpp'>> = {}
  for (const message of site.startupMessages()) {
    if (message.kind !== 'meta' || !stations.includes(message.station)) continue
    const { v: _version, ...description } = message.payload
    chargers[ocppIdentityOf(message.station)] = description
  }
  const missing = stations.filter((s) => !(ocppIdentityOf(s) in chargers))
  if (missing.length > 0) throw new Error(`site ${config.id} has no station ${missing.join(', ')}`)
  return { sites: { [config.id]: { chargers } } }
}
