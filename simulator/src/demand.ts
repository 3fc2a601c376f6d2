import { canCharge } from './charging-curve.ts'
import type { Connector, ConnectorEvent } from './connector.ts'
import { createRng, type Rng } from './rng.ts'
import type { ArrivalClass } from './site-config-schema.ts'
import type { Fleet, Vehicle } from './vehicle.ts'

interface WaitingDriver {
  vehicle: Vehicle
  leavesAtMs: number
}

interface ClassState {
  config: ArrivalClass
  connectors: Connector[]
  /** Arrivals per hour for each local hour. */
  ratePerHour: number[]
  rng: Rng
  queue: WaitingDriver[]
}

/** Connectors grouped by the arrival class that serves them. */
export type ConnectorsByClass = ReadonlyMap<string, readonly Connector[]>

/**
 * Drivers arriving at the site. Each arrival class is a Poisson stream whose rate follows the local
 * hour; a driver takes a free connector of the class that suits the car, or waits up to the class's
 * `maxWaitS` and then leaves — counted as unserved demand.
 */
export class Demand {
  private readonly classes: ClassState[]
  /** Drivers who gave up waiting for a connector. */
  unservedDrivers = 0

  constructor(
    arrivalClasses: readonly ArrivalClass[],
    connectorsByClass: ConnectorsByClass,
    private readonly fleet: Fleet,
    seed: number,
  ) {
    this.classes = arrivalClasses.map((config) => {
      const connectors = [...(connectorsByClass.get(config.id) ?? [])]
      const totalWeight = config.hourlyWeights.reduce((a, b) => a + b, 0)
      const perDay = config.sessionsPerConnectorPerDay * connectors.length
      return {
        config,
        connectors,
        ratePerHour: config.hourlyWeights.map((w) => (totalWeight > 0 ? (perDay * w) / totalWeight : 0)),
        rng: createRng(seed, `arrivals:${config.id}`),
        queue: [],
      }
    })
  }

  // A free connector that suits the car, searched from a random one onwards: in a city-scale run a
  // class has tens of thousands of connectors, and most of them are free.
  private freeConnector(cls: ClassState, vehicle: Vehicle): Connector | undefined {
    const n = cls.connectors.length
    const first = Math.floor(cls.rng.next() * n)
    for (let i = 0; i < n; i++) {
      const connector = cls.connectors[(first + i) % n] as Connector
      if (connector.status === 'Available' && canCharge(vehicle.profile, connector.config)) return connector
    }
    return undefined
  }

  /** Plugs cars into a share of each class's connectors at the start (`initialOccupancy`). */
  occupyAtStart(nowMs: number, events: ConnectorEvent[]): void {
    for (const cls of this.classes) {
      for (const connector of cls.connectors) {
        if (!cls.rng.chance(cls.config.initialOccupancy)) continue
        const vehicle = this.fleet.arriving(cls.config, cls.rng)
        // The class mix may hold cars this particular connector cannot charge; leave it free then.
        if (canCharge(vehicle.profile, connector.config)) connector.plugIn(vehicle, nowMs, events)
      }
    }
  }

  /**
   * Advances demand over a sample ending at `nowMs`: impatient drivers leave, new ones arrive, and
   * waiting drivers take free connectors (which go to Preparing).
   */
  step(nowMs: number, dtS: number, localHour: number, events: ConnectorEvent[]): void {
    const hour = Math.min(23, Math.floor(localHour))
    for (const cls of this.classes) {
      const before = cls.queue.length
      cls.queue = cls.queue.filter((d) => d.leavesAtMs >= nowMs)
      this.unservedDrivers += before - cls.queue.length

      const arrivals = cls.rng.poisson(((cls.ratePerHour[hour] ?? 0) * dtS) / 3600)
      for (let i = 0; i < arrivals; i++) {
        cls.queue.push({
          vehicle: this.fleet.arriving(cls.config, cls.rng),
          leavesAtMs: nowMs + cls.config.maxWaitS * 1000,
        })
      }

      if (cls.queue.length === 0) continue
      cls.queue = cls.queue.filter((driver) => {
        const connector = this.freeConnector(cls, driver.vehicle)
        connector?.plugIn(driver.vehicle, nowMs, events)
        return connector === undefined
      })
    }
  }
}
