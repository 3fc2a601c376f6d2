import type {
  ConnectorSample,
  ConnectorStatus,
  ErrorCode,
  SessionEvent,
  StatusEvent,
  StopReason,
} from '@evmon/contracts'
import type { Grant, PowerRequest } from './allocation.ts'
import { voltageAtPowerV } from './charging-curve.ts'
import type { Rng } from './rng.ts'
import type { SessionLedger } from './session-ledger.ts'
import type { ConnectorConfig } from '@evmon/contracts/site'
import type { ArrivalClass, HardFault, SiteConfig } from './site-config-schema.ts'
import { deratedCurrentA, stepLiquidGun, type GunTemperatures } from './thermal.ts'
import { REGISTER_DECIMALS, round, WH_PER_W_S } from './units.ts'
import type { Vehicle } from './vehicle.ts'

/** A status change or session event, to be published on the station's topics. */
export type ConnectorEvent = { station: string } & (
  { kind: 'status'; payload: StatusEvent } | { kind: 'session'; payload: SessionEvent }
)

// Stop reasons (OCPP 1.6, as the contract's statuses). The car ends its own charge at its target: its
// battery management opens the circuit, which 1.6 reports as EVDisconnected (2.0.1: StoppedByEV).
// SOCLimitReached would claim a limit the charger enforced, which these chargers do not set.
const STOP_BY_EV: StopReason = 'EVDisconnected'
const STOP_BY_DRIVER: StopReason = 'Local'
const STOP_BY_FAULT: StopReason = 'Other'
// SoC arithmetic in floating point can stop a hair short of the target; closer than this counts as there.
const SOC_TOLERANCE_PCT = 1e-6
const MS_PER_DAY = 86_400_000
// Below this a grant is no power at all (allocation arithmetic leaves crumbs of a watt).
const MIN_POWER_W = 1

// Session ids must be unique across restarts of the simulator: station, connector and start time are.
const sessionId = (station: string, connector: number, ms: number) =>
  `${station}-${connector}-${new Date(ms).toISOString().replace(/[-:]|\.\d+/g, '')}`

/** Why a connector is Faulted, and when it may come back. */
interface ActiveFault {
  errorCode: ErrorCode
  vendorError?: string
  /** Cleared at this time; an overheated gun also waits for its coolant to cool down. */
  clearsAtMs: number
  overheat: boolean
}

interface Session {
  id: string
  startEnergyWh: number
  startedAtMs: number
  socStartPct?: number
  peakPowerW: number
  cost: number
}

/** What a connector needs besides its own config. */
export interface ConnectorContext {
  arrivalClass: ArrivalClass
  faults: SiteConfig['faults']
  ledger: SessionLedger
  currency: string
  rng: Rng
  ambientC: number
  startMs: number
}

/**
 * One connector: its OCPP 1.6 status and error code, the car plugged into it, its energy register,
 * its faults and, for a liquid-cooled gun, its temperatures and coolant loop. Status changes happen
 * at the start of a sample (`advance`); power flows during it (`deliver`); the sample then reports
 * the state at its end.
 */
export class Connector {
  private currentStatus: ConnectorStatus = 'Available'
  private errorCode: ErrorCode = 'NoError'
  /** Cumulative energy delivered, Wh: never goes backwards. */
  private energyWh = 0
  private deliveredW = 0
  private offeredW = 0
  private voltageV = 0
  private currentA = 0
  private vehicle: Vehicle | undefined
  private session: Session | undefined
  private phaseEndsAtMs = 0
  private leaveAtMs = Number.POSITIVE_INFINITY
  /** A failed handshake that the retry will rescue. */
  private retryRecovers = false
  /**
   * SuspendedEVSE because the charger has no power for the car (the cabinet's modules serve the
   * supercharging gun, or load management trimmed it to nothing), as opposed to a failed handshake.
   */
  private starved = false
  /** What the last request asked for, W: a grant of nothing against a real request means starved. */
  private requestedW = 0
  private fault: ActiveFault | undefined
  private readonly hardFaults: { config: HardFault; nextAtMs: number }[]
  private temperatures: GunTemperatures | undefined
  private coolingFailedUntilMs = 0
  /** A failed pump stops the coolant flow: the flow switch trips the gun at this time. */
  private flowFaultAtMs = Number.POSITIVE_INFINITY
  private nextCoolingFailureAtMs = Number.POSITIVE_INFINITY
  private readonly rng: Rng
  private readonly context: ConnectorContext
  /** Site-wide key, `station/connector`; built once, as allocation looks it up every sample. */
  readonly key: string

  constructor(
    readonly stationId: string,
    readonly config: ConnectorConfig,
    context: ConnectorContext,
  ) {
    this.context = context
    this.rng = context.rng
    this.key = `${stationId}/${config.id}`
    const { faults, startMs, ambientC } = context
    this.hardFaults = faults.hardFaults
      .filter((f) => !f.liquidCooledOnly || config.liquidCooling)
      .map((f) => ({ config: f, nextAtMs: this.nextOccurrence(startMs, f.perConnectorPerDay) }))
    if (config.liquidCooling) {
      this.temperatures = { contactC: ambientC, coolantC: ambientC }
      this.nextCoolingFailureAtMs = this.nextOccurrence(startMs, faults.coolingFailure.perGunPerDay)
    }
  }

  get status(): ConnectorStatus {
    return this.currentStatus
  }

  get error(): ErrorCode {
    return this.errorCode
  }

  /** Power delivered in the last sample, W. */
  get powerW(): number {
    return this.deliveredW
  }

  /** Cumulative energy register, Wh. */
  get registerWh(): number {
    return this.energyWh
  }

  /** The car plugged in, if any. */
  get plugged(): Vehicle | undefined {
    return this.vehicle
  }

  /** Continues the register of an earlier run (state file), so it never goes backwards across restarts. */
  restoreRegister(energyWh: number): void {
    this.energyWh = Math.max(this.energyWh, energyWh)
  }

  /** A car plugs in: Preparing (authorisation, handshake, insulation test) until charging starts. */
  plugIn(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[]): void {
    if (this.status !== 'Available') throw new Error(`connector ${this.key} is ${this.status}, not Available`)
    this.vehicle = vehicle
    this.leaveAtMs = vehicle.leaveAfterS === undefined ? Infinity : nowMs + vehicle.leaveAfterS * 1000
    const { min, max } = this.context.arrivalClass.preparingS
    this.phaseEndsAtMs = nowMs + this.rng.between(min, max) * 1000
    this.setStatus('Preparing', nowMs, events)
  }

  /** Takes the connector out of service with `errorCode` until {@link clearFault} (control API). */
  injectFault(errorCode: ErrorCode, nowMs: number, events: ConnectorEvent[], vendorError?: string): void {
    this.trip({ errorCode, vendorError, clearsAtMs: Infinity, overheat: false }, nowMs, events)
  }

  /** Ends the current fault now (repaired); false when there was none. */
  clearFault(nowMs: number, events: ConnectorEvent[]): boolean {
    if (!this.fault) return false
    this.coolingFailedUntilMs = Math.min(this.coolingFailedUntilMs, nowMs)
    this.flowFaultAtMs = Infinity
    this.recover(nowMs, events)
    return true
  }

  /**
   * The coolant loop's pump or fan fails now for `repairS` (random failures, control API). A pump
   * failure trips the flow switch after `flowFaultS`; a fan failure lets the coolant heat up.
   */
  failCooling(kind: 'pump' | 'fan', nowMs: number, repairS: number): void {
    if (!this.config.liquidCooling) throw new Error(`connector ${this.key} is not liquid-cooled`)
    this.coolingFailedUntilMs = nowMs + repairS * 1000
    this.flowFaultAtMs =
      kind === 'pump' ? nowMs + this.context.faults.coolingFailure.flowFaultS * 1000 : Infinity
  }

  /** Applies the status change due at `nowMs`, at most one per sample. */
  advance(nowMs: number, events: ConnectorEvent[]): void {
    if (this.advanceFaults(nowMs, events)) return
    const vehicle = this.vehicle
    if (!vehicle) return
    const due = nowMs >= this.phaseEndsAtMs
    switch (this.status) {
      case 'Preparing':
        if (!due) break
        if (vehicle.startFailure) {
          this.phaseEndsAtMs = nowMs + vehicle.startFailure.retryS * 1000
          this.retryRecovers = vehicle.startFailure.recovers
          vehicle.startFailure = undefined
          this.setStatus('SuspendedEVSE', nowMs, events, 'EVCommunicationError')
        } else this.startSession(vehicle, nowMs, events)
        break
      case 'SuspendedEVSE':
        // Waiting for power: the driver may still come back; power returning is deliver()'s to see.
        if (this.starved) {
          if (nowMs >= this.leaveAtMs) this.stopSession(vehicle, nowMs, events, STOP_BY_DRIVER)
          break
        }
        if (!due) break
        if (this.retryRecovers) this.startSession(vehicle, nowMs, events)
        else {
          this.context.ledger.failedStart()
          this.finish(nowMs, events)
        }
        break
      case 'Charging':
        if (vehicle.socPct >= vehicle.targetSocPct - SOC_TOLERANCE_PCT)
          this.stopSession(vehicle, nowMs, events, STOP_BY_EV)
        else if (nowMs >= this.leaveAtMs) this.stopSession(vehicle, nowMs, events, STOP_BY_DRIVER)
        else if (vehicle.interruption && vehicle.socPct >= vehicle.interruption.atSocPct) {
          const { errorCode, faultedS } = vehicle.interruption
          vehicle.interruption = undefined
          this.trip({ errorCode, clearsAtMs: nowMs + faultedS * 1000, overheat: false }, nowMs, events)
        } else if (vehicle.pause && vehicle.socPct >= vehicle.pause.atSocPct) {
          this.phaseEndsAtMs = nowMs + vehicle.pause.durationS * 1000
          vehicle.pause = undefined
          this.setStatus('SuspendedEV', nowMs, events)
        }
        break
      case 'SuspendedEV':
        if (nowMs >= this.leaveAtMs) this.stopSession(vehicle, nowMs, events, STOP_BY_DRIVER)
        else if (due) this.setStatus('Charging', nowMs, events)
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
    if (!vehicle || !(this.currentStatus === 'Charging' || this.starved)) return undefined
    const gun = this.config
    let gunCurrentA = gun.maxCurrentA
    if (gun.liquidCooling && this.temperatures) {
      gunCurrentA = deratedCurrentA(gun.maxCurrentA, this.temperatures.contactC)
    }
    const dc = gun.kind === 'dc' ? vehicle.profile.dc : undefined
    let gunLimitW: number
    let vehicleLimitW: number
    if (dc) {
      // A current limit is worth more power the higher the pack voltage, and the voltage rises with
      // the current through the pack's resistance: P = I·(OCV + I·R). A gun whose voltage ends below
      // the pack's delivers at its own maximum, which the car's boost converter raises.
      const ocvV = dc.ocvV(vehicle.socPct)
      const ohm = dc.resistanceOhm
      const gunV = Math.min(ocvV + gunCurrentA * ohm, gun.maxVoltageV)
      gunLimitW = Math.min(gun.maxPowerKw * 1000, gunCurrentA * gunV)
      vehicleLimitW = Math.min(
        dc.acceptanceW(vehicle.socPct, ambientC),
        dc.maxCurrentA * (ocvV + dc.maxCurrentA * ohm),
      )
    } else {
      gunLimitW = Math.min(gun.maxPowerKw * 1000, gunCurrentA * (gun.nominalVoltageV ?? 0))
      vehicleLimitW = vehicle.profile.acMaxW ?? 0
    }
    const toTargetWh = ((vehicle.targetSocPct - vehicle.socPct) / 100) * vehicle.model.batteryKwh * 1000
    const toTargetW = toTargetWh / (this.toBattery(vehicle) * dtS * WH_PER_W_S)
    this.requestedW = Math.max(0, Math.min(gunLimitW, vehicleLimitW, toTargetW))
    return {
      key: this.key,
      cabinet: this.stationId,
      priority: gun.priority,
      gunLimitW,
      requestW: this.requestedW,
    }
  }

  /**
   * Delivers the granted power for `dtS` seconds: energy register, SoC, the session's cost at
   * `pricePerKwh`, temperatures. A car that wants power and gets none is SuspendedEVSE (OCPP 1.6:
   * the charger, not the car, holds the energy back) until power comes back.
   */
  deliver(
    grant: Grant | undefined,
    dtS: number,
    ambientC: number,
    pricePerKwh: number,
    nowMs: number,
    events: ConnectorEvent[],
  ): void {
    const powerW = grant?.allocatedW ?? 0
    if (grant) {
      if (powerW < MIN_POWER_W && this.requestedW >= MIN_POWER_W && this.currentStatus === 'Charging') {
        this.setStatus('SuspendedEVSE', nowMs, events)
        this.starved = true
      } else if (powerW >= MIN_POWER_W && this.starved) this.setStatus('Charging', nowMs, events)
    }
    this.deliveredW = powerW
    this.offeredW = grant?.offeredW ?? 0
    const vehicle = this.vehicle
    this.voltageV = powerW > 0 && vehicle ? this.outputVoltageV(vehicle, powerW) : 0
    this.currentA = this.voltageV > 0 ? powerW / this.voltageV : 0
    const energyWh = powerW * dtS * WH_PER_W_S
    this.energyWh += energyWh
    if (vehicle && energyWh > 0) {
      const storedWh = energyWh * this.toBattery(vehicle)
      const socPct = vehicle.socPct + (storedWh / (vehicle.model.batteryKwh * 1000)) * 100
      vehicle.socPct = Math.min(socPct, vehicle.targetSocPct)
    }
    const session = this.session
    if (session && energyWh > 0) {
      session.cost += (energyWh / 1000) * pricePerKwh
      session.peakPowerW = Math.max(session.peakPowerW, powerW)
    }
    if (this.config.liquidCooling && this.temperatures) {
      const factor =
        nowMs < this.coolingFailedUntilMs ? this.context.faults.coolingFailure.coolantToAmbientFactor : 1
      this.temperatures = stepLiquidGun(
        this.temperatures,
        this.config.liquidCooling,
        this.currentA,
        ambientC,
        dtS,
        factor,
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
      energy_wh: round(this.energyWh, REGISTER_DECIMALS),
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

  // Exponential waiting time of a Poisson process with `perDay` events a day.
  private nextOccurrence(fromMs: number, perDay: number): number {
    if (perDay <= 0) return Infinity
    return fromMs + (-Math.log(1 - this.rng.next()) / perDay) * MS_PER_DAY
  }

  /** Random faults, cooling failures and overheating; true while the connector is Faulted. */
  private advanceFaults(nowMs: number, events: ConnectorEvent[]): boolean {
    const { coolingFailure } = this.context.faults
    if (nowMs >= this.nextCoolingFailureAtMs) {
      const { min, max } = coolingFailure.repairS
      const kind = this.rng.chance(coolingFailure.pumpShare) ? 'pump' : 'fan'
      this.failCooling(kind, nowMs, this.rng.between(min, max))
      this.nextCoolingFailureAtMs = this.nextOccurrence(
        this.coolingFailedUntilMs,
        coolingFailure.perGunPerDay,
      )
    }
    if (nowMs >= this.flowFaultAtMs) {
      this.flowFaultAtMs = Infinity
      if (!this.fault) {
        const flow = {
          errorCode: 'OtherError' as const,
          vendorError: 'coolant flow fault: pump failure',
          clearsAtMs: this.coolingFailedUntilMs,
          overheat: false,
        }
        this.trip(flow, nowMs, events)
      }
    }
    for (const hard of this.hardFaults) {
      if (nowMs < hard.nextAtMs) continue
      const { min, max } = hard.config.repairS
      const clearsAtMs = nowMs + this.rng.between(min, max) * 1000
      hard.nextAtMs = this.nextOccurrence(clearsAtMs, hard.config.perConnectorPerDay)
      if (!this.fault) {
        const { errorCode, vendorError } = hard.config
        this.trip({ errorCode, vendorError, clearsAtMs, overheat: false }, nowMs, events)
      }
    }
    const cooling = this.config.liquidCooling
    if (cooling && this.temperatures && !this.fault && this.temperatures.coolantC >= cooling.coolantTripC) {
      this.trip(
        {
          errorCode: 'HighTemperature',
          vendorError: 'coolant over temperature',
          clearsAtMs: nowMs,
          overheat: true,
        },
        nowMs,
        events,
      )
    }
    const fault = this.fault
    if (!fault) return false
    const cooled =
      !fault.overheat ||
      (nowMs >= this.coolingFailedUntilMs &&
        (this.temperatures?.coolantC ?? 0) <= (cooling?.coolantResetC ?? 0))
    if (nowMs >= fault.clearsAtMs && cooled) this.recover(nowMs, events)
    return true
  }

  /** Faulted: any session stops, power stops, and the car (if any) waits for the repair. */
  private trip(fault: ActiveFault, nowMs: number, events: ConnectorEvent[]): void {
    this.fault = fault
    this.setStatus('Faulted', nowMs, events, fault.errorCode, fault.vendorError)
    if (this.session && this.vehicle) this.endSession(this.vehicle, nowMs, events, STOP_BY_FAULT)
  }

  // Back in service: the driver (if still there) unplugs; otherwise the connector is free.
  private recover(nowMs: number, events: ConnectorEvent[]): void {
    this.fault = undefined
    if (this.vehicle) this.finish(nowMs, events)
    else this.setStatus('Available', nowMs, events)
  }

  private finish(nowMs: number, events: ConnectorEvent[]): void {
    const { min, max } = this.context.arrivalClass.finishingS
    this.phaseEndsAtMs = nowMs + this.rng.between(min, max) * 1000
    this.setStatus('Finishing', nowMs, events)
  }

  // DC goes straight into the pack; AC passes the car's on-board charger, which keeps its loss.
  private toBattery(vehicle: Vehicle): number {
    return this.config.kind === 'ac' ? vehicle.profile.acToBattery : 1
  }

  // DC: the pack's terminal voltage while it takes `powerW`; AC: the supply voltage.
  private outputVoltageV(vehicle: Vehicle, powerW: number): number {
    const dc = vehicle.profile.dc
    if (this.config.kind === 'dc' && dc) {
      return Math.min(voltageAtPowerV(dc, vehicle.socPct, powerW), this.config.maxVoltageV)
    }
    return this.config.nominalVoltageV ?? 0
  }

  private startSession(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[]): void {
    const id = sessionId(this.stationId, this.config.id, nowMs)
    this.session = { id, startEnergyWh: this.energyWh, startedAtMs: nowMs, peakPowerW: 0, cost: 0 }
    if (this.config.kind === 'dc') this.session.socStartPct = round(vehicle.socPct, 2)
    this.setStatus('Charging', nowMs, events)
    const payload: SessionEvent = {
      ts: nowMs,
      event: 'started',
      session: id,
      connector: this.config.id,
      vehicle: vehicle.model.name,
    }
    if (this.session.socStartPct !== undefined) payload.soc_pct = this.session.socStartPct
    events.push({ station: this.stationId, kind: 'session', payload })
  }

  private stopSession(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[], reason: StopReason): void {
    this.finish(nowMs, events)
    this.endSession(vehicle, nowMs, events, reason)
  }

  // The stop event and the ledger entry; the status change that goes with it is the caller's.
  private endSession(vehicle: Vehicle, nowMs: number, events: ConnectorEvent[], reason: StopReason): void {
    const session = this.session
    if (!session) return
    this.session = undefined
    const energyWh = round(this.energyWh - session.startEnergyWh, 2)
    const cost = round(session.cost, 2)
    const { currency } = this.context
    const payload: SessionEvent = {
      ts: nowMs,
      event: 'stopped',
      session: session.id,
      connector: this.config.id,
      vehicle: vehicle.model.name,
      energy_wh: energyWh,
      reason,
      cost,
      currency,
    }
    const socEndPct = this.config.kind === 'dc' ? round(vehicle.socPct, 2) : undefined
    if (socEndPct !== undefined) payload.soc_pct = socEndPct
    events.push({ station: this.stationId, kind: 'session', payload })
    this.context.ledger.record(
      {
        station: this.stationId,
        connector: this.config.id,
        session: session.id,
        vehicle: vehicle.model.name,
        startedAtMs: session.startedAtMs,
        stoppedAtMs: nowMs,
        energyWh,
        ...(session.socStartPct === undefined ? {} : { socStartPct: session.socStartPct }),
        ...(socEndPct === undefined ? {} : { socEndPct }),
        peakPowerW: Math.round(session.peakPowerW),
        reason,
        cost,
        currency,
      },
      reason === STOP_BY_FAULT,
    )
  }

  private setStatus(
    status: ConnectorStatus,
    nowMs: number,
    events: ConnectorEvent[],
    errorCode: ErrorCode = 'NoError',
    vendorError?: string,
  ): void {
    this.currentStatus = status
    this.errorCode = errorCode
    this.starved = false
    const payload: StatusEvent = { ts: nowMs, connector: this.config.id, status, error_code: errorCode }
    if (vendorError !== undefined) payload.vendor_error = vendorError
    events.push({ station: this.stationId, kind: 'status', payload })
  }
}
