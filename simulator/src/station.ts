import type { StationMeta, Telemetry } from '@evmon/contracts'
import type { Grant, PowerRequest } from './allocation.ts'
import { Connector } from './connector.ts'
import { interpolate, type Breakpoints } from './piecewise-linear.ts'
import { createRng } from './rng.ts'
import type { ArrivalClass, SiteConfig, StationConfig } from './site-config-schema.ts'
import { firstOrderLag } from './thermal.ts'
import { round, WH_PER_W_S } from './units.ts'

/**
 * A charging station: one power cabinet feeding its connectors, behind one grid meter. The meter
 * sees the connectors' output divided by the cabinet's efficiency at the current load, plus standby
 * electronics and, while charging, pumps and fans.
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

  constructor(
    readonly config: StationConfig,
    arrivalClasses: ReadonlyMap<string, ArrivalClass>,
    seed: number,
    ambientC: number,
  ) {
    this.efficiency = config.efficiency.map((p) => [p.loadPct, p.efficiency] as const)
    this.cabinetC = ambientC
    this.connectors = config.connectors.map(
      (c) =>
        new Connector(
          config.id,
          c,
          arrivalClasses.get(c.arrivalClass) as ArrivalClass,
          createRng(seed, `connector:${config.id}/${c.id}`),
          ambientC,
        ),
    )
  }

  get id(): string {
    return this.config.id
  }

  get cabinetW(): number {
    return this.config.cabinetMaxPowerKw * 1000
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

  /** The retained description of the station. */
  meta(site: SiteConfig): StationMeta {
    return {
      v: 1,
      name: this.config.name,
      location: { ...site.location },
      timezone: site.timezone,
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

  /** Power requests of the connectors that are charging. */
  requests(ambientC: number, dtS: number): PowerRequest[] {
    return this.connectors.flatMap((c) => c.request(ambientC, dtS) ?? [])
  }

  /** Delivers the granted power for `dtS` seconds and advances the meter and the cabinet's temperature. */
  deliver(grants: ReadonlyMap<string, Grant>, dtS: number, ambientC: number): void {
    let outputW = 0
    for (const connector of this.connectors) {
      connector.deliver(grants.get(connector.key), dtS, ambientC)
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
        grid_energy_wh: round(this.gridEnergyWh, 2),
        aux_power_w: Math.round(this.auxPowerW),
        cabinet_temp_c: round(this.cabinetC, 1),
      },
      connectors: this.connectors.map((c) => c.sample()),
    }
  }
}
