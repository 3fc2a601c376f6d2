import { canCharge } from './charging-curve.ts'
import type { Connector, ConnectorEvent } from './connector.ts'
import type { LocalTime } from '@evmon/contracts/site'
import { createRng, type Rng } from './rng.ts'
import type { ConnectorConfig, VehicleModel } from '@evmon/contracts/site'
import type { ArrivalClass } from './site-config-schema.ts'
import type { Fleet, Vehicle } from './vehicle.ts'

interface WaitingDriver {
  vehicle: Vehicle
  leavesAtMs: number
}

interface ClassState {
  config: ArrivalClass
  /** The class's own connectors, then those of the classes it also uses. */
  connectors: Connector[]
  /** Arrivals per hour for each local hour: working days, weekends, public holidays. */
  ratePerHour: { workday: number[]; weekend: number[]; holiday: number[] }
  /** Fastest power any of the class's connectors offers each vehicle model of its mix, kW. */
  bestKw: Map<string, number>
  rng: Rng
  queue: WaitingDriver[]
}

/** Connectors grouped by the arrival class that serves them. */
export type ConnectorsByClass = ReadonlyMap<string, readonly Connector[]>

const MS_PER_DAY = 86_400_000

/**
 * The power a car can expect from a gun, kW: the tightest of the gun's rating, its current at the
 * car's nominal voltage and the car's own peak. A driver uses it to choose among free guns.
 */
export function expectedKw(model: VehicleModel, gun: ConnectorConfig): number {
  if (gun.kind === 'ac') return Math.min(gun.maxPowerKw, model.ac?.maxKw ?? 0)
  const dc = model.dc
  if (!dc) return 0
  const volts = Math.min(dc.nominalPackVoltageV, gun.maxVoltageV)
  const amps = Math.min(gun.maxCurrentA, dc.maxCurrentA)
  return Math.min(gun.maxPowerKw, (amps * volts) / 1000, dc.peakKw)
}

/**
 * Drivers arriving at the site. Each arrival class is a Poisson stream whose rate follows the local
 * hour and the kind of day (working day, weekend, public holiday); a driver takes a free suitable
 * connector of the class's own or of the classes it also uses — the fastest for an 800 V car, any for
 * a 400 V car, which gains little from the 480 kW gun — or waits up to the class's `maxWaitS` and
 * then leaves, counted as unserved demand.
 */
export class Demand {
  private readonly classes: ClassState[]
  private readonly holidays: ReadonlySet<number>
  /** Drivers who gave up waiting for a connector. */
  unservedDrivers = 0

  constructor(
    arrivalClasses: readonly ArrivalClass[],
    connectorsByClass: ConnectorsByClass,
    private readonly fleet: Fleet,
    seed: number,
    holidays: readonly string[] = [],
  ) {
    this.holidays = new Set(holidays.map((d) => Date.parse(`${d}T00:00:00Z`) / MS_PER_DAY))
    this.classes = arrivalClasses.map((config) => {
      const own = connectorsByClass.get(config.id) ?? []
      const connectors = [own, ...config.alsoUses.map((id) => connectorsByClass.get(id) ?? [])].flat()
      const perDay = config.sessionsPerConnectorPerDay * own.length
      const rates = (weights: readonly number[], factor: number) => {
        const total = weights.reduce((a, b) => a + b, 0)
        return weights.map((w) => (total > 0 ? (perDay * factor * w) / total : 0))
      }
      const configs = connectors.map((c) => c.config)
      return {
        config,
        connectors,
        ratePerHour: {
          workday: rates(config.hourlyWeights, 1),
          weekend: rates(config.weekendHourlyWeights, config.dayFactor.weekend),
          holiday: rates(config.weekendHourlyWeights, config.dayFactor.holiday),
        },
        bestKw: new Map(
          config.vehicleMix.map((e) => {
            const model = fleet.model(e.vehicle)
            // A reduce, not Math.max(...): a city-scale class has more connectors than a call takes arguments.
            return [model.id, configs.reduce((best, c) => Math.max(best, expectedKw(model, c)), 0)] as const
          }),
        ),
        rng: createRng(seed, `arrivals:${config.id}`),
        queue: [],
      }
    })
  }

  // A free connector that suits the car, searched from a random one onwards: in a city-scale run a
  // class has tens of thousands of connectors, most of them free. An 800 V car's driver looks for the
  // one that charges it fastest (stopping at the first that is as fast as any); other drivers see
  // little to gain and take the first suitable one.
  private freeConnector(cls: ClassState, vehicle: Vehicle): Connector | undefined {
    const n = cls.connectors.length
    const best = vehicle.model.dc?.voltageClass === 800 ? (cls.bestKw.get(vehicle.model.id) ?? 0) : 0
    const first = Math.floor(cls.rng.next() * n)
    let found: Connector | undefined
    let foundKw = -1
    for (let i = 0; i < n; i++) {
      const connector = cls.connectors[(first + i) % n] as Connector
      if (connector.status !== 'Available' || !canCharge(vehicle.profile, connector.config)) continue
      const kw = expectedKw(vehicle.model, connector.config)
      if (kw >= best) return connector
      if (kw > foundKw) {
        found = connector
        foundKw = kw
      }
    }
    return found
  }

  /** Plugs cars into a share of each class's own connectors at the start (`initialOccupancy`). */
  occupyAtStart(nowMs: number, events: ConnectorEvent[]): void {
    for (const cls of this.classes) {
      for (const connector of cls.connectors) {
        if (connector.config.arrivalClass !== cls.config.id) continue
        if (!cls.rng.chance(cls.config.initialOccupancy)) continue
        const vehicle = this.fleet.arriving(cls.config, cls.rng)
        // The class mix may hold cars this particular connector cannot charge; leave it free then.
        if (canCharge(vehicle.profile, connector.config)) connector.plugIn(vehicle, nowMs, events)
      }
    }
  }

  /** Mean arrivals per hour of a class at a local time: its hourly profile for that kind of day. */
  arrivalsPerHour(classId: string, local: LocalTime): number {
    const cls = this.classes.find((c) => c.config.id === classId)
    if (!cls) throw new Error(`no arrival class ${JSON.stringify(classId)}`)
    return this.rate(cls, local)
  }

  private rate(cls: ClassState, local: LocalTime): number {
    const hour = Math.min(23, Math.floor(local.hour))
    const kind = this.holidays.has(local.day)
      ? 'holiday'
      : local.weekday === 0 || local.weekday === 6
        ? 'weekend'
        : 'workday'
    return cls.ratePerHour[kind][hour] ?? 0
  }

  /**
   * Advances demand over a sample ending at `nowMs`: impatient drivers leave, new ones arrive, and
   * waiting drivers take free connectors (which go to Preparing).
   */
  step(nowMs: number, dtS: number, local: LocalTime, events: ConnectorEvent[]): void {
    for (const cls of this.classes) {
      const before = cls.queue.length
      if (before > 0) {
        cls.queue = cls.queue.filter((d) => d.leavesAtMs >= nowMs)
        this.unservedDrivers += before - cls.queue.length
      }

      const arrivals = cls.rng.poisson((this.rate(cls, local) * dtS) / 3600)
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
