import type { ConnectorSample, ConnectorStatus, SessionEvent, StatusEvent } from '@evmon/contracts'
import type { Grant, PowerRequest } from './allocation.ts'
import type { Rng } from './rng.ts'
import type { ArrivalClass, ConnectorConfig } from './site-config-schema.ts'
import { deratedCurrentA, stepLiquidGun, type GunTemperatures } from './thermal.ts'
import type { Vehicle } from './vehicle.ts'
import { round, WH_PER_W_S } from './units.ts'

/** A status change or session event, to be published on the station's topics. */
export type ConnectorEvent = { station: string } & (
  { kind: 'status'; payload: StatusEvent } | { kind: 'session'; payload: SessionEvent }
)

// OCPP 2.0.1's stoppedReason for a session the car ended at its target; OCPP 1.6 has no such reason.
const STOP_AT_TARGET = 'SOCLimitReached'
// SoC arithmetic in floating point can stop a hair short of the target; closer than this counts as there.
const SOC_TOLERANCE_PCT = 1e-6

// Session ids must be unique across restarts of the simulator: station, connector and start time are.
const sessionId = (station: string, connector: number, ms: number) =>
  `${station}-${connector}-${new Date(ms).toISOString().replace(/[-:]|\.\d+/g, '')}`

/**
 * One connector: its OCPP 1.6 status, the car plugged into it, its energy register and, for a
 * liquid-cooled gun, its temperatures. Status changes happen at the start of a sample (`advance`);
 * power flows during it (`deliver`); the sample then reports the state at its end.
 */
export class Connector {
  private currentStatus: ConnectorStatus = 'Available'
  /** Cumulative energy delivered, Wh: never goes backwards. */
  private energyWh = 0
  private deliveredW = 0
  private offeredW = 0
  private voltageV = 0
  private currentA = 0
  private vehicle: Vehicle | undefined
  private session: { id: string; startEnergyWh: number } | undefined
  private phaseEndsAtMs = 0
  private temperatures: GunTemperatures | undefined

  constructor(
    readonly stationId: string,
    readonly config: ConnectorConfig,
    private readonly arrivalClass: ArrivalClass,
    private readonly rng: Rng,
    ambientC: number,
  ) {
    if (config.liquidCooling) this.temperatures = { contactC: ambientC, coolantC: ambientC }
  }

  get status(): ConnectorStatus {
    return this.currentStatus
  }

  /** Power delivered in the last sample, W. */
  get powerW(): number {
    return this.deliveredW
  }

  /** Site-wide key, `station/connector`. */
  get key(): string {
    return `${this.stationId}/${this.config.id}`
  }

  /** A car plugs in: Preparing (authorisation, handshake, insulation test) until charging starts. */
  plugIn(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[]): void {
    if (this.status !== 'Available') throw new Error(`connector ${this.key} is ${this.status}, not Available`)
    this.vehicle = vehicle
    const { min, max } = this.arrivalClass.preparingS
    this.phaseEndsAtMs = nowMs + this.rng.between(min, max) * 1000
    this.setStatus('Preparing', nowMs, events)
  }

  /** Applies the status change due at `nowMs`, at most one per sample. */
  advance(nowMs: number, events: ConnectorEvent[]): void {
    const vehicle = this.vehicle
    if (!vehicle) return
    const due = nowMs >= this.phaseEndsAtMs
    switch (this.status) {
      case 'Preparing':
        if (due) this.startSession(vehicle, nowMs, events)
        break
      case 'Charging':
        if (vehicle.socPct >= vehicle.targetSocPct - SOC_TOLERANCE_PCT)
          this.stopSession(vehicle, nowMs, events)
        else if (vehicle.pause && vehicle.socPct >= vehicle.pause.atSocPct) {
          this.phaseEndsAtMs = nowMs + vehicle.pause.durationS * 1000
          vehicle.pause = undefined
          this.setStatus('SuspendedEV', nowMs, events)
        }
        break
      case 'SuspendedEV':
        if (due) this.setStatus('Charging', nowMs, events)
        break
      case 'Finishing':
        if (due) {
          this.vehicle = undefined
          this.session = undefined
          this.setStatus('Available', nowMs, events)
        }
        break
      default:
        break
    }
  }

  /**
   * What the connector asks of its cabinet for the next `dtS` seconds, or undefined when no energy
   * flows. The request is the tightest of the gun's limits (power, current × voltage, thermal
   * derating), the car's (charging curve, current) and the energy left to the target SoC.
   */
  request(ambientC: number, dtS: number): PowerRequest | undefined {
    const vehicle = this.vehicle
    if (this.status !== 'Charging' || !vehicle) return undefined
    const gun = this.config
    const voltageV = this.outputVoltageV(vehicle)
    let gunCurrentA = gun.maxCurrentA
    if (gun.liquidCooling && this.temperatures) {
      gunCurrentA = deratedCurrentA(gun.liquidCooling, gun.maxCurrentA, this.temperatures.contactC)
    }
    const gunLimitW = Math.min(gun.maxPowerKw * 1000, gunCurrentA * voltageV)
    const dc = vehicle.profile.dc
    const vehicleLimitW =
      gun.kind === 'dc' && dc
        ? Math.min(dc.acceptanceW(vehicle.socPct, ambientC), dc.maxCurrentA * voltageV)
        : (vehicle.profile.acMaxW ?? 0)
    const toTargetWh = ((vehicle.targetSocPct - vehicle.socPct) / 100) * vehicle.model.batteryKwh * 1000
    const toTargetW = toTargetWh / (dtS * WH_PER_W_S)
    return {
      key: this.key,
      cabinet: this.stationId,
      priority: gun.priority,
      gunLimitW,
      requestW: Math.max(0, Math.min(gunLimitW, vehicleLimitW, toTargetW)),
    }
  }

  /** Delivers the granted power for `dtS` seconds: energy register, SoC, temperatures. */
  deliver(grant: Grant | undefined, dtS: number, ambientC: number): void {
    const powerW = grant?.allocatedW ?? 0
    this.deliveredW = powerW
    this.offeredW = grant?.offeredW ?? 0
    const vehicle = this.vehicle
    this.voltageV = powerW > 0 && vehicle ? this.outputVoltageV(vehicle) : 0
    this.currentA = this.voltageV > 0 ? powerW / this.voltageV : 0
    const energyWh = powerW * dtS * WH_PER_W_S
    this.energyWh += energyWh
    if (vehicle && energyWh > 0) {
      const socPct = vehicle.socPct + (energyWh / (vehicle.model.batteryKwh * 1000)) * 100
      vehicle.socPct = Math.min(socPct, vehicle.targetSocPct)
    }
    if (this.config.liquidCooling && this.temperatures) {
      this.temperatures = stepLiquidGun(
        this.temperatures,
        this.config.liquidCooling,
        this.currentA,
        ambientC,
        dtS,
      )
    }
  }

  /** The connector's part of the station's telemetry, rounded as a meter would show it. */
  sample(): ConnectorSample {
    // Current is derived from the published power and voltage, so P = V × I holds in the message.
    const powerW = Math.round(this.deliveredW)
    const voltageV = round(this.voltageV, 1)
    const sample: ConnectorSample = {
      id: this.config.id,
      status: this.status,
      power_w: powerW,
      offered_w: Math.round(this.offeredW),
      voltage_v: voltageV,
      current_a: voltageV > 0 ? Number((powerW / voltageV).toPrecision(6)) : 0,
      energy_wh: round(this.energyWh, 2),
    }
    const vehicle = this.vehicle
    // GB/T AC charging carries no SoC from the car; DC does.
    if (vehicle && this.config.kind === 'dc') sample.soc_pct = round(vehicle.socPct, 2)
    if (this.temperatures) {
      sample.temp_c = round(this.temperatures.contactC, 1)
      sample.coolant_c = round(this.temperatures.coolantC, 1)
    }
    if (this.session) sample.session = this.session.id
    return sample
  }

  private outputVoltageV(vehicle: Vehicle): number {
    const dc = vehicle.profile.dc
    if (this.config.kind === 'dc' && dc) return dc.packVoltageV(vehicle.socPct)
    return this.config.nominalVoltageV ?? 0
  }

  private startSession(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[]): void {
    const id = sessionId(this.stationId, this.config.id, nowMs)
    this.session = { id, startEnergyWh: this.energyWh }
    this.setStatus('Charging', nowMs, events)
    const payload: SessionEvent = {
      ts: nowMs,
      event: 'started',
      session: id,
      connector: this.config.id,
      vehicle: vehicle.model.name,
    }
    if (this.config.kind === 'dc') payload.soc_pct = round(vehicle.socPct, 2)
    events.push({ station: this.stationId, kind: 'session', payload })
  }

  private stopSession(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[]): void {
    const session = this.session
    const { min, max } = this.arrivalClass.finishingS
    this.phaseEndsAtMs = nowMs + this.rng.between(min, max) * 1000
    this.setStatus('Finishing', nowMs, events)
    if (!session) return
    const payload: SessionEvent = {
      ts: nowMs,
      event: 'stopped',
      session: session.id,
      connector: this.config.id,
      vehicle: vehicle.model.name,
      energy_wh: round(this.energyWh - session.startEnergyWh, 2),
      reason: STOP_AT_TARGET,
    }
    if (this.config.kind === 'dc') payload.soc_pct = round(vehicle.socPct, 2)
    events.push({ station: this.stationId, kind: 'session', payload })
  }

  private setStatus(status: ConnectorStatus, nowMs: number, events: ConnectorEvent[]): void {
    this.currentStatus = status
    events.push({
      station: this.stationId,
      kind: 'status',
      payload: { ts: nowMs, connector: this.config.id, status, error_code: 'NoError' },
    })
  }
}
