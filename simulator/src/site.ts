import type { ConnectorStatus, ErrorCode } from '@evmon/contracts'
import { allocate, type PowerRequest } from './allocation.ts'
import { ambientC } from './ambient.ts'
import { canCharge } from './charging-curve.ts'
import type { Connector, ConnectorEvent } from './connector.ts'
import { DEFAULTS } from './defaults.ts'
import { Demand } from './demand.ts'
import { compileTariff, createLocalTime, gridLimitW as siteGridLimitW } from '@evmon/contracts/site'
import { createMessageFactory, onlineMessage, type SimMessage } from './messages.ts'
import { createRng } from './rng.ts'
import { SessionLedger, type LedgerTotals, type SessionRecord } from './session-ledger.ts'
import type { SiteConfig } from './site-config-schema.ts'
import { Station, type StationRegisters } from './station.ts'
import { createFleet, type VehicleSpec } from './vehicle.ts'

/** Options of the model beyond seed and start time. */
export interface SiteOptions {
  /** Simulated time between telemetry samples, ms. */
  sampleIntervalMs?: number
}

/** Every register and counter that must survive a restart of the simulator. */
export interface SiteRegisters {
  stations: Record<string, StationRegisters>
  ledger: LedgerTotals
}

/** A connector as the control API lists it. */
export interface ConnectorView {
  id: number
  kind: 'dc' | 'ac'
  status: ConnectorStatus
  errorCode: ErrorCode
  powerW: number
  energyWh: number
  vehicle?: string
  socPct?: number
}

/** A station as the control API lists it. */
export interface StationView {
  id: string
  name: string
  online: boolean
  /** Power modules out of service (cabinets built of modules only). */
  failedModules?: number
  connectors: ConnectorView[]
}

/** A simulated site: a pure function of config, seed and start time, advanced one sample at a time. */
export interface Site {
  readonly config: SiteConfig
  /** Simulated time, UTC ms: the end of the last sample (the start time before the first step). */
  readonly nowMs: number
  readonly sampleIntervalMs: number
  readonly stationIds: readonly string[]
  /** Connectors across all stations: each contributes one sample per step. */
  readonly connectorCount: number
  /** Drivers who left because every suitable connector stayed busy. */
  readonly unservedDrivers: number
  /** Stations whose connection is up. */
  readonly onlineStations: number
  /** Session totals (energy, revenue, failed starts, interruptions). */
  readonly totals: Readonly<LedgerTotals>
  /** The most recent finished sessions with their cost, newest last. */
  readonly recentSessions: readonly SessionRecord[]
  /** Real-power limit of the site's grid connection, W; load management keeps the site under it. */
  gridLimitW: number
  /**
   * Ambient temperature forced to this value (a heat-wave scenario of the control API), °C;
   * undefined: the site's climate model.
   */
  ambientOverrideC: number | undefined
  /** Ambient temperature of the last sample, °C. */
  readonly ambientC: number
  /** What each station publishes when it comes up: its meta and every connector's status. */
  startupMessages(): SimMessage[]
  /** Advances one sample and returns what the stations publish for it. */
  step(): SimMessage[]
  /**
   * Plugs a specific car into a free connector now (for the control API and tests); its Preparing
   * status comes out with the next step. Throws when the connector is busy or cannot charge the car.
   */
  plugIn(station: string, connector: number, spec: VehicleSpec): void
  /** Faults a connector with `errorCode` until {@link clearFault}; the status comes out with the next step. */
  injectFault(station: string, connector: number, errorCode: ErrorCode, vendorError?: string): void
  /** Repairs a connector's fault; false when it had none. */
  clearFault(station: string, connector: number): boolean
  /** Drops a station's network connection for `durationS` simulated seconds: its last will fires. */
  disconnect(station: string, durationS: number): void
  /**
   * Fails one power module of a station's cabinet for `repairS` simulated seconds: the cabinet loses
   * its share. Throws for a station without modules (an AC pile) or with none left.
   */
  failModule(station: string, repairS: number): void
  /**
   * The coolant pump or fan of a liquid-cooled gun fails for `repairS` simulated seconds: a pump
   * failure faults the gun within seconds (flow), a fan failure lets it overheat. Throws for an
   * air-cooled connector.
   */
  failCooling(station: string, connector: number, kind: 'pump' | 'fan', repairS: number): void
  /** Stations and connectors now. */
  describe(): StationView[]
  /** Mean arrivals per hour of an arrival class at `atMs`: its profile for that hour and kind of day. */
  arrivalsPerHour(arrivalClass: string, atMs: number): number
  /** Registers and counters to carry across a restart. */
  registers(): SiteRegisters
  /** Continues from an earlier run's registers; stations that no longer exist are ignored. */
  restore(registers: SiteRegisters): void
}

/**
 * Builds the site model. The same config, seed and start time always produce the same messages:
 * nothing here reads the wall clock.
 */
export function createSite(
  config: SiteConfig,
  seed: number,
  startMs: number,
  options: SiteOptions = {},
): Site {
  const sampleIntervalMs = options.sampleIntervalMs ?? DEFAULTS.sampleIntervalMs
  const dtS = sampleIntervalMs / 1000
  const localTime = createLocalTime(config.timezone)
  const tariffAt = compileTariff(config.tariff)
  const ledger = new SessionLedger(DEFAULTS.recentSessions)
  const classes = new Map(config.arrivalClasses.map((c) => [c.id, c]))
  const startAmbientC = ambientC(config.ambient, localTime(startMs))
  const stations = config.stations.map(
    (s) => new Station(s, config, classes, ledger, seed, startAmbientC, startMs),
  )
  const stationById = new Map(stations.map((s) => [s.id, s]))
  const connectors = stations.flatMap((s) => s.connectors)
  const connectorsByClass = new Map<string, Connector[]>()
  for (const c of connectors) {
    const members = connectorsByClass.get(c.config.arrivalClass)
    if (members) members.push(c)
    else connectorsByClass.set(c.config.arrivalClass, [c])
  }
  const fleet = createFleet(config)
  const demand = new Demand(config.arrivalClasses, connectorsByClass, fleet, seed, config.holidays)
  const controlRng = createRng(seed, 'control')
  let gridLimitW = siteGridLimitW(config.grid)
  const auxReserveW = stations.reduce((sum, s) => sum + s.maxAuxW, 0)
  const moduleW = new Map(
    stations.flatMap((s) =>
      s.config.moduleKw === undefined ? [] : [[s.id, s.config.moduleKw * 1000] as const],
    ),
  )
  const gridCostPerW = new Map(stations.map((s) => [s.id, s.worstGridCostPerW]))
  // Status and session events of a station that is offline wait for its reconnection, as an OCPP
  // charger queues its transaction messages; telemetry of those samples is lost.
  const backlog = new Map<string, SimMessage[]>()
  const stationMessage = createMessageFactory(config.id)

  let nowMs = startMs
  let pending: ConnectorEvent[] = []
  let ambientOverrideC: number | undefined
  let lastAmbientC = startAmbientC
  // Cars already plugged in at the start count as part of the starting state, not as changes.
  demand.occupyAtStart(startMs, [])

  const toMessage = (e: ConnectorEvent): SimMessage =>
    e.kind === 'status'
      ? stationMessage(e.station, 'status', e.payload)
      : stationMessage(e.station, 'session', e.payload)

  const stationOf = (id: string): Station => {
    const station = stationById.get(id)
    if (!station) throw new Error(`no station ${JSON.stringify(id)}`)
    return station
  }
  const connectorOf = (stationId: string, connectorId: number): Connector => {
    const connector = stationOf(stationId).connectors.find((c) => c.config.id === connectorId)
    if (!connector) throw new Error(`no connector ${stationId}/${connectorId}`)
    return connector
  }

  return {
    config,
    get nowMs() {
      return nowMs
    },
    sampleIntervalMs,
    stationIds: stations.map((s) => s.id),
    connectorCount: connectors.length,
    get unservedDrivers() {
      return demand.unservedDrivers
    },
    get onlineStations() {
      return stations.reduce((n, s) => n + (s.online ? 1 : 0), 0)
    },
    totals: ledger.totals,
    get recentSessions() {
      return ledger.recent
    },
    get gridLimitW() {
      return gridLimitW
    },
    set gridLimitW(watts: number) {
      if (!(watts >= 0)) throw new Error(`grid limit ${watts} W must be a number ≥ 0`)
      gridLimitW = watts
    },
    get ambientOverrideC() {
      return ambientOverrideC
    },
    set ambientOverrideC(celsius: number | undefined) {
      if (celsius !== undefined && !(celsius >= -50 && celsius <= 60)) {
        throw new Error(`ambient ${celsius} °C must be from -50 to 60`)
      }
      ambientOverrideC = celsius
    },
    get ambientC() {
      return lastAmbientC
    },

    startupMessages() {
      return stations.flatMap((s) => [
        stationMessage(s.id, 'meta', s.meta()),
        ...s.connectors.map((c) =>
          stationMessage(s.id, 'status', {
            ts: nowMs,
            connector: c.config.id,
            status: c.status,
            error_code: c.error,
          }),
        ),
      ])
    },

    step() {
      const events = pending
      pending = []
      nowMs += sampleIntervalMs
      const local = localTime(nowMs)
      const ambient = ambientOverrideC ?? ambientC(config.ambient, local)
      lastAmbientC = ambient
      const out: SimMessage[] = []
      for (const s of stations) {
        const change = s.advanceConnection(nowMs)
        if (change === 'lost') {
          backlog.set(s.id, [])
          out.push({ ...onlineMessage(config.id, s.id, false), connection: 'lost' })
        } else if (change === 'restored') {
          out.push({ ...onlineMessage(config.id, s.id, true, nowMs), connection: 'restored' })
          out.push(...(backlog.get(s.id) ?? []))
          backlog.delete(s.id)
        }
      }
      // Demand before connector timers: a connector freed in this sample takes its next car in the next.
      demand.step(nowMs, dtS, local, events)
      for (const c of connectors) c.advance(nowMs, events)

      const loungeW = (config.loungeKwByHour[Math.min(23, Math.floor(local.hour))] ?? 0) * 1000
      const requests: PowerRequest[] = []
      const cabinetW = new Map<string, number>()
      for (const s of stations) {
        s.advanceModules(nowMs)
        const stationRequests = s.requests(ambient, dtS)
        if (stationRequests.length === 0) continue
        requests.push(...stationRequests)
        cabinetW.set(s.id, s.availableW())
      }
      const grants = allocate(requests, {
        cabinetW,
        moduleW,
        gridCostPerW,
        gridBudgetW: gridLimitW - loungeW - auxReserveW,
      })
      const pricePerKwh = tariffAt(local)
      for (const s of stations) s.deliver(grants, dtS, ambient, pricePerKwh, nowMs, events)

      for (const e of events) {
        const queued = backlog.get(e.station)
        if (queued) queued.push(toMessage(e))
        else out.push(toMessage(e))
      }
      for (const s of stations) {
        if (s.online) out.push(stationMessage(s.id, 'telemetry', s.telemetry(nowMs)))
        else s.skipSample()
      }
      return out
    },

    plugIn(stationId, connectorId, spec) {
      const connector = connectorOf(stationId, connectorId)
      const vehicle = fleet.build(spec, controlRng)
      if (!canCharge(vehicle.profile, connector.config)) {
        throw new Error(`${spec.vehicle} cannot charge on ${connector.key}`)
      }
      connector.plugIn(vehicle, nowMs, pending)
    },

    injectFault(stationId, connectorId, errorCode, vendorError) {
      if (errorCode === 'NoError') throw new Error('NoError is not a fault; clear the fault instead')
      connectorOf(stationId, connectorId).injectFault(errorCode, nowMs, pending, vendorError)
    },

    clearFault(stationId, connectorId) {
      return connectorOf(stationId, connectorId).clearFault(nowMs, pending)
    },

    disconnect(stationId, durationS) {
      stationOf(stationId).disconnect(nowMs + durationS * 1000)
    },

    failModule(stationId, repairS) {
      stationOf(stationId).failModule(nowMs, repairS)
    },

    failCooling(stationId, connectorId, kind, repairS) {
      connectorOf(stationId, connectorId).failCooling(kind, nowMs, repairS)
    },

    describe() {
      return stations.map((s) => ({
        id: s.id,
        name: s.config.name,
        online: s.online,
        ...(s.config.moduleKw === undefined ? {} : { failedModules: s.failedModules }),
        connectors: s.connectors.map((c) => {
          const view: ConnectorView = {
            id: c.config.id,
            kind: c.config.kind,
            status: c.status,
            errorCode: c.error,
            powerW: Math.round(c.powerW),
            energyWh: c.registerWh,
          }
          const vehicle = c.plugged
          if (vehicle) {
            view.vehicle = vehicle.model.id
            view.socPct = vehicle.socPct
          }
          return view
        }),
      }))
    },

    arrivalsPerHour(arrivalClass, atMs) {
      return demand.arrivalsPerHour(arrivalClass, localTime(atMs))
    },

    registers() {
      return {
        stations: Object.fromEntries(stations.map((s) => [s.id, s.registers()])),
        ledger: { ...ledger.totals },
      }
    },

    restore(registers) {
      for (const [id, saved] of Object.entries(registers.stations)) stationById.get(id)?.restore(saved)
      ledger.restore(registers.ledger)
    },
  }
}
