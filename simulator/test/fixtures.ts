import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ConnectorSample, Telemetry } from '@evmon/contracts'
import type { SimMessage } from '../src/messages.ts'
import { parseSiteConfig } from '../src/site-config.ts'
import type { SiteConfig } from '../src/site-config-schema.ts'

/** The default site file, as parsed JSON that a test may modify before validating it. */
export function beibeiJson(): SiteConfig {
  const path = fileURLToPath(new URL('../../config/sites/beibei.json', import.meta.url))
  return JSON.parse(readFileSync(path, 'utf8')) as SiteConfig
}

/** The default site, validated. */
export const beibei = (): SiteConfig => parseSiteConfig(beibeiJson())

/**
 * The default site with no drivers arriving, no car plugged in at the start and nothing breaking on
 * its own: tests plug in their own cars and inject their own faults.
 */
export function quietBeibei(edit: (config: SiteConfig) => void = () => {}): SiteConfig {
  const json = beibeiJson()
  for (const cls of json.arrivalClasses) {
    cls.sessionsPerConnectorPerDay = 0
    cls.initialOccupancy = 0
  }
  for (const fault of json.faults.hardFaults) fault.perConnectorPerDay = 0
  json.faults.coolingFailure.perGunPerDay = 0
  json.faults.offline.perStationPerDay = 0
  edit(json)
  return parseSiteConfig(json)
}

/** 12:00 in Beibei (UTC+8) on a July weekday: the busiest hour of the day. */
export const JULY_NOON = Date.parse('2025-07-15T12:00:00+08:00')

export type TelemetryMessage = Extract<SimMessage, { kind: 'telemetry' }>

export function telemetryOf(messages: readonly SimMessage[], station?: string): Telemetry[] {
  return messages
    .filter(
      (m): m is TelemetryMessage =>
        m.kind === 'telemetry' && (station === undefined || m.station === station),
    )
    .map((m) => m.payload)
}

/** One connector's samples, in order. */
export function connectorSamples(
  messages: readonly SimMessage[],
  station: string,
  connector: number,
): ConnectorSample[] {
  return telemetryOf(messages, station).flatMap((t) => t.connectors.filter((c) => c.id === connector))
}
