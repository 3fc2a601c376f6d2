import type { OcppProtocol } from '@evmon/contracts'
import type { SimMessage } from '../messages.ts'
import type { Logger, Publisher } from '../publisher.ts'
import { OcppCharger } from './charger.ts'
import { ocppIdentityOf, readPasswords } from './options.ts'

export interface OcppPublisherOptions {
  /** Gateway endpoint; a charger connects to `{url}/{site}/{identity}`. */
  url: string
  site: string
  protocols: ReadonlyMap<string, OcppProtocol>
  passwordsFile?: string
  log: Logger
}

/** How the simulated chargers behave on the wire. */
const OCPP_CHARGER_DEFAULTS = {
  meterIntervalS: 10, // a common MeterValueSampleInterval; the gateway may ask for another
  maxQueued: 10_000, // transaction messages kept while the gateway is unreachable
  reconnectDelayMs: 1000,
} as const

/** One OCPP connection per station that speaks OCPP, behind the simulator's publisher interface. */
export function createOcppPublisher(options: OcppPublisherOptions): Publisher {
  const passwords = readPasswords(options.passwordsFile)
  const chargers = new Map<string, OcppCharger>()
  for (const [station, protocol] of options.protocols) {
    const identity = ocppIdentityOf(station)
    const password = passwords.get(identity)
    if (options.passwordsFile !== undefined && password === undefined)
      throw new Error(`OCPP passwords file ${options.passwordsFile} has no password for ${identity}`)
    const charger = new OcppCharger({
      endpoint: `${options.url.replace(/\/+$/, '')}/${options.site}`,
      identity,
      ...(password !== undefined && { password }),
      protocol,
      ...OCPP_CHARGER_DEFAULTS,
      log: options.log,
    })
    chargers.set(station, charger)
    charger.connect()
  }
  const chargerOf = (station: string): OcppCharger => {
    const charger = chargers.get(station)
    if (!charger) throw new Error(`no OCPP charger for station ${JSON.stringify(station)}`)
    return charger
  }
  const sum = (f: (c: OcppCharger) => number) => [...chargers.values()].reduce((n, c) => n + f(c), 0)
  const inFlightAtMost = async (count: number): Promise<void> => {
    while (sum((c) => c.inFlight) > count) await new Promise((r) => setTimeout(r, 20))
  }
  return {
    publish: (message) => chargerOf(message.station).handle(message),
    get inFlight() {
      return sum((c) => c.inFlight)
    },
    get acknowledged() {
      return sum((c) => c.acknowledged)
    },
    allConnected: async () => {
      await Promise.all([...chargers.values()].map((c) => c.booted))
    },
    inFlightAtMost,
    dropConnection: (station) => chargerOf(station).drop(true),
    loseConnection: (station) => chargerOf(station).drop(false),
    reconnect: (station) => chargerOf(station).connect(),
    async close(_nowMs, timeoutMs) {
      await Promise.all([...chargers.values()].map((c) => c.close(timeoutMs)))
    },
  }
}

/** Sends each station's messages the way it speaks: MQTT through `mqtt`, OCPP through `ocpp`. */
export function routePublisher(
  mqtt: Publisher,
  ocpp: Publisher,
  speaksOcpp: (station: string) => boolean,
): Publisher {
  const of = (station: string) => (speaksOcpp(station) ? ocpp : mqtt)
  return {
    publish: (message: SimMessage) => of(message.station).publish(message),
    get inFlight() {
      return mqtt.inFlight + ocpp.inFlight
    },
    get acknowledged() {
      return mqtt.acknowledged + ocpp.acknowledged
    },
    allConnected: async () => {
      await Promise.all([mqtt.allConnected(), ocpp.allConnected()])
    },
    inFlightAtMost: async (count) => {
      await Promise.all([mqtt.inFlightAtMost(count), ocpp.inFlightAtMost(count)])
    },
    dropConnection: (station) => of(station).dropConnection(station),
    loseConnection: (station) => of(station).loseConnection(station),
    reconnect: (station) => of(station).reconnect(station),
    async close(nowMs, timeoutMs) {
      await Promise.all([mqtt.close(nowMs, timeoutMs), ocpp.close(nowMs, timeoutMs)])
    },
  }
}
