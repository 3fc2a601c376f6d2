import type { StationMeta, Telemetry } from '@evmon/contracts'
import type { Grant, PowerRequest } from './allocation.ts'
import { Connector, type ConnectorEvent } from './connector.ts'
import { createRng, type Rng } from './rng.ts'
import type { SessionLedger } from './session-ledger.ts'
import { interpolate, type Breakpoints, type StationConfig } from '@evmon/contracts/site'
import type { ArrivalClass, SiteConfig } from './site-config-schema.ts'
import { firstOrderLag } from './thermal.ts'
import { REGISTER_DECIMALS, round, WH_PER_W_S } from './units.ts'

const MS_PER_DAY = 86_400_000

/** What a station's meters read: carried across restarts in the state file. */
export interface StationRegisters {
  gridEnergyWh: number
  seq: number
  connectorEnergyWh: Record<string, number>
}

/** How a station's network connection changed in a sample. */
export type ConnectionChange = 'lost' | 'restored' | undefined

/**
 * A charging station: one power cabinet feeding its connectors, behind one grid meter. The meter
 * sees the connectors' output divided by the cabinet's efficiency at the current load, plus standby
 * electronics and, while charging, pumps and fans. The station may lose its network connection for
 * a while (offline episodes); charging goes on meanwhile, as it does on real chargers.
 */
export class Station {
  readonly connectors: Connector[]
  /** Cumulative grid energy, Wh: never goes backwards, and never less than the connectors delivered. */
  private gridEnergyWh = 0
  private gridPowerW = 0
  private auxPowerW = 0
  private cabinetC: number
  private seq = 0
  private readonly efficiency: Breakpoints
  private readonly derating: Breakpoints | undefined
  private readonly rng: Rng
  /** Power modules of the cabinet (0: not built of modules, as an AC pile). */
  private readonly modules: number
  /** Repair time of each failed module, ms. */
  private failedModulesUntilMs: number[] = []
  /** The earliest of those repairs: the list is touched only then, not every sample. */
  private nextRepairAtMs = Number.POSITIVE_INFINITY
  private nextModuleFailureAtMs = Number.POSITIVE_INFINITY
  /** 0 while online. */
  private offlineUntilMs = 0
  private lostAnnounced = false
  private nextOfflineAtMs: number

  constructor(
    readonly config: StationConfig,
    private readonly site: SiteConfig,
    arrivalClasses: ReadonlyMap<string, ArrivalClass>,
    ledger: SessionLedger,
    seed: number,
    ambientC: number,
    startMs: number,
  ) {
    this.efficiency = config.efficiency.map((p) => [p.loadPct, p.efficiency] as const)
    this.derating = config.cabinetDerating?.map((p) => [p.cabinetC, p.factor] as const)
    this.cabinetC = ambientC
    this.rng = createRng(seed, `station:${config.id}`)
    this.nextOfflineAtMs = this.nextOffline(startMs)
    this.modules = config.moduleKw === undefined ? 0 : Math.floor(config.cabinetMaxPowerKw / config.moduleKw)
    this.nextModuleFailureAtMs = this.nextModuleFailure(startMs)
    this.connectors = config.connectors.map(
      (c) =>
        new Connector(config.id, c, {
          arrivalClass: arrivalClasses.get(c.arrivalClass) as ArrivalClass,
          faults: site.faults,
          ledger,
          currency: site.tariff.currency,
          rng: createRng(seed, `connector:${config.id}/${c.id}`),
          ambientC,
          startMs,
        }),
    )
  }

  get id(): string {
    return this.config.id
  }

  /** Nameplate output of the cabinet, W. */
  get cabinetW(): number {
    return this.config.cabinetMaxPowerKw * 1000
  }

  /**
   * Output the cabinet can deliver now: nameplate less its failed modules; air-cooled modules derate
   * as the cabinet's air heats up (ambient plus its own conversion losses).
   */
  availableW(): number {
    const failedW = this.failedModulesUntilMs.length * (this.config.moduleKw ?? 0) * 1000
    const workingW = this.cabinetW - failedW
    return this.derating ? workingW * interpolate(this.derating, this.cabinetC) : workingW
  }

  /** Failed power modules now. */
  get failedModules(): number {
    return this.failedModulesUntilMs.length
  }

  /** A power module fails now and is replaced after `repairS` (control API, random failures). */
  failModule(nowMs: number, repairS: number): void {
    if (this.failedModulesUntilMs.length >= this.modules) {
      throw new Error(
        this.modules === 0
          ? `${this.id} has no power modules`
          : `every power module of ${this.id} has failed already`,
      )
    }
    this.failedModulesUntilMs.push(nowMs + repairS * 1000)
    this.nextRepairAtMs = Math.min(this.nextRepairAtMs, nowMs + repairS * 1000)
  }

  /** Random module failures and repairs due at `nowMs`. */
  advanceModules(nowMs: number): void {
    if (nowMs >= this.nextModuleFailureAtMs) {
      const { min, max } = this.site.faults.moduleFailure.repairS
      if (this.failedModulesUntilMs.length < this.modules) this.failModule(nowMs, this.rng.between(min, max))
      this.nextModuleFailureAtMs = this.nextModuleFailure(nowMs)
    }
    if (nowMs >= this.nextRepairAtMs) {
      this.failedModulesUntilMs = this.failedModulesUntilMs.filter((untilMs) => untilMs > nowMs)
      this.nextRepairAtMs = Math.min(Number.POSITIVE_INFINITY, ...this.failedModulesUntilMs)
    }
  }

  /** Grid watts per delivered watt at the cabinet's worst efficiency: an upper bound for load management. */
  get worstGridCostPerW(): number {
    return 1 / Math.min(...this.config.efficiency.map((p) => p.efficiency))
  }

  /** The most the station's standby and cooling can draw, W. */
  get maxAuxW(): number {
    const aux = this.config.auxWhileChargingW
    return this.config.standbyW + Math.max(aux.atZeroLoad, aux.atFullLoad)
  }

  get online(): boolean {
    return this.offlineUntilMs === 0
  }

  /** The retained description of the station. */
  meta(): StationMeta {
    return {
      v: 1,
      name: this.config.name,
      location: { ...this.site.location },
      timezone: this.site.timezone,
      cooling: this.config.cooling,
      cabinet_max_power_w: this.cabinetW,
      connectors: this.config.connectors.map((c) => ({
        id: c.id,
        kind: c.kind,
        standard: c.standard,
        max_power_w: c.maxPowerKw * 1000,
        max_current_a: c.maxCurrentA,
        min_voltage_v: c.minVoltageV,
        max_voltage_v: c.maxVoltageV,
        liquid_cooled: c.liquidCooling !== undefined,
      })),
    }
  }

  /** Drops the network connection until `untilMs` (control API); it comes back by itself. */
  disconnect(untilMs: number): void {
    this.offlineUntilMs = Math.max(this.offlineUntilMs, untilMs)
  }

  /** Starts and ends offline episodes: the connection is lost at a random time and comes back later. */
  advanceConnection(nowMs: number): ConnectionChange {
    if (this.lostAnnounced && nowMs >= this.offlineUntilMs) {
      this.offlineUntilMs = 0
      this.lostAnnounced = false
      return 'restored'
    }
    if (nowMs >= this.nextOfflineAtMs) {
      const { min, max } = this.site.faults.offline.durationS
      const untilMs = nowMs + this.rng.between(min, max) * 1000
      this.nextOfflineAtMs = this.nextOffline(untilMs)
      this.offlineUntilMs = Math.max(this.offlineUntilMs, untilMs)
    }
    if (this.offlineUntilMs !== 0 && !this.lostAnnounced) {
      this.lostAnnounced = true
      return 'lost'
    }
    return undefined
  }

  /** Power requests of the connectors that are charging. */
  requests(ambientC: number, dtS: number): PowerRequest[] {
    const requests: PowerRequest[] = []
    for (const c of this.connectors) {
      const request = c.request(ambientC, dtS)
      if (request) requests.push(request)
    }
    return requests
  }

  /**
   * Delivers the granted power for `dtS` seconds and advances the meter and the cabinet's temperature;
   * connectors left without power report it in `events`.
   */
  deliver(
    grants: ReadonlyMap<string, Grant>,
    dtS: number,
    ambientC: number,
    pricePerKwh: number,
    nowMs: number,
    events: ConnectorEvent[],
  ): void {
    let outputW = 0
    for (const connector of this.connectors) {
      connector.deliver(grants.get(connector.key), dtS, ambientC, pricePerKwh, nowMs, events)
      outputW += connector.powerW
    }
    const load = outputW / this.cabinetW
    const inputW = outputW / interpolate(this.efficiency, load * 100)
    const aux = this.config.auxWhileChargingW
    const coolingW = outputW > 0 ? aux.atZeroLoad + (aux.atFullLoad - aux.atZeroLoad) * load : 0
    this.auxPowerW = this.config.standbyW + coolingW
    this.gridPowerW = inputW + this.auxPowerW
    this.gridEnergyWh += this.gridPowerW * dtS * WH_PER_W_S
    const lossKw = (inputW - outputW) / 1000
    const { riseKPerKwLoss, timeConstantS } = this.config.cabinetThermal
    this.cabinetC = firstOrderLag(this.cabinetC, ambientC + lossKw * riseKPerKwLoss, dtS, timeConstantS)
  }

  /** The telemetry message for the sample ending at `ts`; each call takes the next sequence number. */
  telemetry(ts: number): Telemetry {
    return {
      v: 1,
      ts,
      seq: this.seq++,
      meter: {
        grid_power_w: Math.round(this.gridPowerW),
        grid_energy_wh: round(this.gridEnergyWh, REGISTER_DECIMALS),
        aux_power_w: Math.round(this.auxPowerW),
        cabinet_temp_c: round(this.cabinetC, 1),
      },
      connectors: this.connectors.map((c) => c.sample()),
    }
  }

  /** Skips a sample that cannot be published (offline): the sequence number still advances. */
  skipSample(): void {
    this.seq++
  }

  registers(): StationRegisters {
    return {
      gridEnergyWh: this.gridEnergyWh,
      seq: this.seq,
      connectorEnergyWh: Object.fromEntries(this.connectors.map((c) => [String(c.config.id), c.registerWh])),
    }
  }

  /** Continues the meters of an earlier run; connectors the earlier run did not have start at 0. */
  restore(registers: StationRegisters): void {
    this.gridEnergyWh = Math.max(this.gridEnergyWh, registers.gridEnergyWh)
    this.seq = Math.max(this.seq, registers.seq)
    for (const c of this.connectors) {
      const energyWh = registers.connectorEnergyWh[String(c.config.id)]
      if (energyWh !== undefined) c.restoreRegister(energyWh)
    }
  }

  // Each working or failed module fails at the configured rate: failures of the cabinet come at rate × modules.
  private nextModuleFailure(fromMs: number): number {
    const perDay = this.site.faults.moduleFailure.perModulePerDay * this.modules
    if (perDay <= 0) return Number.POSITIVE_INFINITY
    return fromMs + (-Math.log(1 - this.rng.next()) / perDay) * MS_PER_DAY
  }

  private nextOffline(fromMs: number): number {
    const perDay = this.site.faults.offline.perStationPerDay
    if (perDay <= 0) return Number.POSITIVE_INFINITY
    return fromMs + (-Math.log(1 - this.rng.next()) / perDay) * MS_PER_DAY
  }
}
