import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { ConnectorSample, MeterSample, Telemetry } from '@evmon/contracts'
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

/** Telemetry with every measurement the contract makes optional present, as the simulator sends it. */
export type CompleteTelemetry = Omit<Telemetry, 'meter' | 'connectors'> & {
  meter: MeterSample & Required<Pick<MeterSample, 'grid_power_w' | 'grid_energy_wh' | 'aux_power_w'>>
  connectors: CompleteConnectorSample[]
}
export type CompleteConnectorSample = ConnectorSample &
  Required<Pick<ConnectorSample, 'power_w' | 'offered_w' | 'voltage_v' | 'current_a' | 'energy_wh'>>

/**
 * Checks that a simulated sample carries every measurement: unlike an OCPP charger, the simulator
 * meters everything, and its physics tests rely on it.
 */
export function complete(t: Telemetry): CompleteTelemetry {
  const { grid_power_w, grid_energy_wh, aux_power_w } = t.meter
  if (grid_power_w === undefined || grid_energy_wh === undefined || aux_power_w === undefined)
    throw new Error(`telemetry ${t.seq} lacks a meter reading`)
  for (const c of t.connectors) {
    if ([c.power_w, c.offered_w, c.voltage_v, c.current_a, c.energy_wh].includes(undefined))
      throw new Error(`telemetry ${t.seq} lacks a reading of connector ${c.id}`)
  }
  return t as CompleteTelemetry
}

export function telemetryOf(messages: readonly SimMessage[], station?: string): CompleteTelemetry[] {
  return messages
    .filter(
      (m): m is TelemetryMessage =>
        m.kind === 'telemetry' && (station === undefined || m.station === station),
    )
    .map((m) => complete(m.payload))
}

/** One connector's samples, in order. */
export function connectorSamples(
  messages: readonly SimMessage[],
  station: string,
  connector: number,
): CompleteConnectorSample[] {
  return telemetryOf(messages, station).flatMap((t) => t.connectors.filter((c) => c.id === connector))
}
