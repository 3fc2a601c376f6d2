import { allocate } from './allocation.ts'
import { ambientC } from './ambient.ts'
import { canCharge } from './charging-curve.ts'
import type { Connector, ConnectorEvent } from './connector.ts'
import { DEFAULTS } from './defaults.ts'
import { Demand } from './demand.ts'
import { createLocalTime } from './local-time.ts'
import { stationMessage, type SimMessage } from './messages.ts'
import { createRng } from './rng.ts'
import type { SiteConfig } from './site-config-schema.ts'
import { Station } from './station.ts'
import { createFleet, type VehicleSpec } from './vehicle.ts'

/** Options of the model beyond seed and start time. */
export interface SiteOptions {
  /** Simulated time between telemetry samples, ms. */
  sampleIntervalMs?: number
}

/** A simulated site: a pure function of config, seed and start time, advanced one sample at a time. */
export interface Site {
  readonly config: SiteConfig
  /** Simulated time, UTC ms: the end of the last sample (the start time before the first step). */
  readonly nowMs: number
  readonly sampleIntervalMs: number
  readonly stationIds: readonly string[]
  /** Drivers who left because every suitable connector stayed busy. */
  readonly unservedDrivers: number
  /** What each station publishes when it comes up: its meta and every connector's status. */
  startupMessages(): SimMessage[]
  /** Advances one sample and returns what the stations publish for it. */
  step(): SimMessage[]
  /**
   * Plugs a specific car into a free connector now (for the control API and tests); its Preparing
   * status comes out with the next step. Throws when the connector is busy or cannot charge the car.
   */
  plugIn(station: string, connector: number, spec: VehicleSpec): void
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
  const classes = new Map(config.arrivalClasses.map((c) => [c.id, c]))
  const startAmbientC = ambientC(config.ambient, localTime(startMs))
  const stations = config.stations.map((s) => new Station(s, classes, seed, startAmbientC))
  const connectors = stations.flatMap((s) => s.connectors)
  const connectorsByClass = new Map<string, Connector[]>()
  for (const c of connectors) {
    connectorsByClass.set(c.config.arrivalClass, [...(connectorsByClass.get(c.config.arrivalClass) ?? []), c])
  }
  const fleet = createFleet(config)
  const demand = new Demand(config.arrivalClasses, connectorsByClass, fleet, seed)
  const controlRng = createRng(seed, 'control')
  const gridLimitW = config.grid.transformerKva * 1000 * config.grid.powerFactor
  const auxReserveW = stations.reduce((sum, s) => sum + s.maxAuxW, 0)
  const cabinetW = new Map(stations.map((s) => [s.id, s.cabinetW]))
  const gridCostPerW = new Map(stations.map((s) => [s.id, s.worstGridCostPerW]))

  let nowMs = startMs
  let pending: ConnectorEvent[] = []
  // Cars already plugged in at the start count as part of the starting state, not as changes.
  demand.occupyAtStart(startMs, [])

  const toMessage = (e: ConnectorEvent): SimMessage =>
    e.kind === 'status'
      ? stationMessage(config.id, e.station, 'status', e.payload)
      : stationMessage(config.id, e.station, 'session', e.payload)

  return {
    config,
    get nowMs() {
      return nowMs
    },
    sampleIntervalMs,
    stationIds: stations.map((s) => s.id),
    get unservedDrivers() {
      return demand.unservedDrivers
    },

    startupMessages() {
      return stations.flatMap((s) => [
        stationMessage(config.id, s.id, 'meta', s.meta(config)),
        ...s.connectors.map((c) =>
          stationMessage(config.id, s.id, 'status', {
            ts: nowMs,
            connector: c.config.id,
            status: c.status,
            error_code: 'NoError',
          }),
        ),
      ])
    },

    step() {
      const events = pending
      pending = []
      nowMs += sampleIntervalMs
      const local = localTime(nowMs)
      const ambient = ambientC(config.ambient, local)
      // Demand before connector timers: a connector freed in this sample takes its next car in the next.
      demand.step(nowMs, dtS, local.hour, events)
      for (const c of connectors) c.advance(nowMs, events)

      const loungeW = (config.loungeKwByHour[Math.min(23, Math.floor(local.hour))] ?? 0) * 1000
      const grants = allocate(
        stations.flatMap((s) => s.requests(ambient, dtS)),
        { cabinetW, gridCostPerW, gridBudgetW: gridLimitW - loungeW - auxReserveW },
      )
      for (const s of stations) s.deliver(grants, dtS, ambient)
      return [
        ...events.map(toMessage),
        ...stations.map((s) => stationMessage(config.id, s.id, 'telemetry', s.telemetry(nowMs))),
      ]
    },

    plugIn(stationId, connectorId, spec) {
      const connector = connectors.find((c) => c.stationId === stationId && c.config.id === connectorId)
      if (!connector) throw new Error(`no connector ${stationId}/${connectorId}`)
      const vehicle = fleet.build(spec, controlRng)
      if (!canCharge(vehicle.profile, connector.config)) {
        throw new Error(`${spec.vehicle} cannot charge on ${connector.key}`)
      }
      connector.plugIn(vehicle, nowMs, pending)
    },
  }
}
