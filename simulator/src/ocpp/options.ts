import { readFileSync } from 'node:fs'
import { isValidId, OCPP_PROTOCOLS, type OcppProtocol } from '@evmon/contracts'
import { envVar } from '@evmon/runtime'

/** How a simulated station reaches evmon: its own MQTT contract, or OCPP through the gateway. */
export type StationProtocol = 'mqtt' | OcppProtocol
const PROTOCOLS: readonly StationProtocol[] = ['mqtt', ...OCPP_PROTOCOLS]

/** The OCPP settings as configured (flags over `EVMON_SIM_*`), before the site file is read. */
export interface OcppSettings {
  /** One protocol for every station, or one per station id (the rest MQTT). */
  protocol: StationProtocol | ReadonlyMap<string, StationProtocol>
  /** Gateway endpoint; a charger connects to `{url}/{site}/{identity}`. */
  url: string
  /** Charger passwords (OCPP security profile 1) by identity. */
  passwordsFile?: string
}

/**
 * A simulated station's OCPP identity: its id upper-cased, as real chargers are named (`KC-FAST-1`).
 * The gateway maps it back to the same station id, so the station keeps its history either way.
 */
export const ocppIdentityOf = (station: string): string => station.toUpperCase()

/** `kc-fast-1=ocpp1.6,kc-fast-2=ocpp2.0.1`; a bare protocol applies to every station. */
function parseProtocols(raw: string): Map<string, StationProtocol> | StationProtocol {
  const trimmed = raw.trim()
  if ((PROTOCOLS as readonly string[]).includes(trimmed)) return trimmed as StationProtocol
  const byStation = new Map<string, StationProtocol>()
  for (const entry of trimmed.split(',')) {
    const [station = '', protocol = ''] = entry.split('=').map((s) => s.trim())
    if (!isValidId(station) || !(PROTOCOLS as readonly string[]).includes(protocol))
      throw new Error(`must be ${PROTOCOLS.join(', ')} or station=protocol pairs, comma-separated`)
    if (byStation.has(station)) throw new Error(`names ${station} twice`)
    byStation.set(station, protocol as StationProtocol)
  }
  return byStation
}

/** The simulator's OCPP variables, declared once; config.ts reads the flags that override them. */
export const ocppSimulatorEnv = {
  protocol: envVar.custom(
    'EVMON_SIM_PROTOCOL',
    'mqtt' as const,
    'how stations connect: `mqtt`, `ocpp1.6`, `ocpp2.0.1`, or per station `kc-fast-1=ocpp1.6,kc-fast-2=ocpp2.0.1` (the rest MQTT)',
    parseProtocols,
  ),
  ocppUrl: envVar.url(
    'EVMON_SIM_OCPP_URL',
    'ws://127.0.0.1:9220/ocpp',
    'the OCPP gateway; a charger connects to `{url}/{site}/{identity}`',
    ['ws:', 'wss:'],
  ),
  ocppPasswords: envVar.string(
    'EVMON_SIM_OCPP_PASSWORDS',
    undefined,
    'JSON file `{"<identity>": "<password>"}` of the OCPP chargers (HTTP Basic, security profile 1)',
  ),
}

/**
 * The stations of the site that speak OCPP, and their protocols. A station named in the setting that
 * the site does not have is a mistake worth stopping for, not a setting to ignore.
 */
export function ocppStations(settings: OcppSettings, stations: readonly string[]): Map<string, OcppProtocol> {
  const protocols = new Map<string, OcppProtocol>()
  const { protocol } = settings
  if (typeof protocol === 'string') {
    if (protocol !== 'mqtt') for (const s of stations) protocols.set(s, protocol)
    return protocols
  }
  const unknown = [...protocol.keys()].filter((s) => !stations.includes(s))
  if (unknown.length > 0) throw new Error(`protocol: the site has no station ${unknown.join(', ')}`)
  for (const [station, p] of protocol) if (p !== 'mqtt') protocols.set(station, p)
  return protocols
}

/** Reads the passwords file: `{"<identity>": "<password>"}`. */
export function readPasswords(path: string | undefined): ReadonlyMap<string, string> {
  if (path === undefined) return new Map()
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new Error(`OCPP passwords file ${path}: ${(err as Error).message}`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`OCPP passwords file ${path}: not an object of identity → password`)
  const passwords = new Map<string, string>()
  for (const [identity, password] of Object.entries(parsed)) {
    if (typeof password !== 'string')
      throw new Error(`OCPP passwords file ${path}: the password of ${identity} is not a string`)
    passwords.set(identity, password)
  }
  return passwords
}
