import type {
  ConnectorMeta,
  ConnectorSample,
  ConnectorStatus,
  ErrorCode,
  MeterSample,
  OcppProtocol,
  SessionEvent,
  StationMeta,
  Telemetry,
} from '@evmon/contracts'
import type { Charger } from './chargers.ts'
import type { ContractOut } from './contract-out.ts'
import type { Reading } from './meter.ts'
import type { BootRecord } from './state.ts'

/** What OCPP does not say about a charger, from the sites file: the station description fields. */
export type Description = Partial<
  Pick<StationMeta, 'name' | 'location' | 'timezone' | 'cooling' | 'cabinet_max_power_w'>
> & {
  connectors?: ConnectorMeta[]
}

interface Condition {
  status: ConnectorStatus
  errorCode: ErrorCode
  vendorError?: string
}

interface ConnectorState {
  /** What the charger last said of this connector. */
  own?: Condition
  /** The status event last published for it, to publish only changes. */
  publishedKey?: string
  reading?: Reading
  /** Contract session id of the transaction open on it. */
  session?: string
  /**
   * The latest state of charge reported, kept apart from `reading`: a later reading without SoC (the
   * stop's register) replaces the reading, yet the session still ends with the car's last SoC.
   */
  soc?: { ts: number; pct: number }
}

// A station-level (connector 0, or EVSE-less) Unavailable or Faulted stops every connector: OCPP 1.6
// defines connector 0's status as the charge point's own.
const STATION_WIDE: ReadonlySet<ConnectorStatus> = new Set(['Unavailable', 'Faulted'])

const conditionKey = (c: Condition) => `${c.status}|${c.errorCode}|${c.vendorError ?? ''}`

/**
 * One charger as an evmon station: what it has said, turned into contract messages. Lives as long as the
 * gateway (across the charger's reconnects), so a reconnect resumes its readings and sessions.
 */
export class Station {
  connected = false
  private seq = 0
  private readonly connectors = new Map<number, ConnectorState>()
  private stationLevel?: Condition
  private mainMeter?: Reading
  /** Rated power per connector as the charger reported it (2.0.1 EVSE Power maxLimit), W. */
  private readonly ratedW = new Map<number, number>()
  constructor(
    readonly charger: Charger,
    private readonly out: ContractOut,
    private description: Description | undefined,
  ) {}

  get site(): string {
    return this.charger.site
  }

  get station(): string {
    return this.charger.station
  }

  describe(description: Description | undefined): void {
    this.description = description
  }

  publishOnline(online: boolean, ts: number): void {
    this.connected = online
    this.out.publish(this.site, this.station, 'online', { online, ts })
  }

  /** Retained meta: the description, the connectors known, and what the charger said at boot. */
  publishMeta(boot: BootRecord, protocol: OcppProtocol): void {
    const d = this.description ?? {}
    // The description wins over what the charger reports; a reported rating fills a gap.
    const rated = (c: ConnectorMeta): ConnectorMeta => {
      const w = this.ratedW.get(c.id)
      return c.max_power_w === undefined && w !== undefined ? { ...c, max_power_w: w } : c
    }
    const connectors = (
      d.connectors ??
      [...new Set([...this.connectors.keys(), ...this.ratedW.keys()])]
        .sort((a, b) => a - b)
        .map((id) => ({ id }))
    ).map(rated)
    const meta: StationMeta = {
      v: 1,
      name: d.name ?? this.charger.identity,
      ...(d.location && { location: d.location }),
      ...(d.timezone && { timezone: d.timezone }),
      ...(d.cooling && { cooling: d.cooling }),
      ...(d.cabinet_max_power_w !== undefined && { cabinet_max_power_w: d.cabinet_max_power_w }),
      connectors,
      ocpp: {
        identity: this.charger.identity,
        protocol,
        vendor: boot.vendor,
        model: boot.model,
        ...(boot.serialNumber && { serial_number: boot.serialNumber }),
        ...(boot.firmwareVersion && { firmware_version: boot.firmwareVersion }),
      },
    }
    this.out.publish(this.site, this.station, 'meta', meta)
  }

  /** Records a connector's rated power; true when it changed (the meta then needs publishing again). */
  setRatedPower(connector: number, watts: number): boolean {
    if (this.ratedW.get(connector) === watts) return false
    this.ratedW.set(connector, watts)
    return true
  }

  /** True when `connector` is new to the station (its meta then needs publishing again). */
  private connector(id: number): { state: ConnectorState; added: boolean } {
    const known = this.connectors.get(id)
    if (known) return { state: known, added: false }
    const state: ConnectorState = {}
    this.connectors.set(id, state)
    return { state, added: !this.description?.connectors }
  }

  /**
   * A status report; connector 0 is the station itself. Publishes a status event for every connector
   * whose effective status changed. Returns true when a connector was seen for the first time.
   */
  setStatus(connector: number, condition: Condition, ts: number): boolean {
    let added = false
    if (connector === 0) this.stationLevel = condition
    else {
      const c = this.connector(connector)
      c.state.own = condition
      added = c.added
    }
    for (const [id, state] of this.connectors) {
      const effective = this.effective(state)
      if (!effective) continue
      const key = conditionKey(effective)
      if (key === state.publishedKey) continue
      state.publishedKey = key
      this.out.publish(this.site, this.station, 'status', {
        ts,
        connector: id,
        status: effective.status,
        error_code: effective.errorCode,
        ...(effective.vendorError && { vendor_error: effective.vendorError.slice(0, 256) }),
      })
    }
    return added
  }

  /** The status a connector has now, or undefined before the charger has said. */
  status(connector: number): ConnectorStatus | undefined {
    return this.connectors.get(connector)?.own?.status
  }

  private effective(state: ConnectorState): Condition | undefined {
    const s = this.stationLevel
    if (s && STATION_WIDE.has(s.status)) {
      return { ...s, vendorError: ['station', s.vendorError].filter(Boolean).join(': ') }
    }
    return state.own
  }

  /**
   * A meter reading of a connector (0: the station's main meter). Only a reading newer than the one
   * held replaces it: a charger flushing queued values after a reconnect must not turn the clock
   * back. Returns false for a reading that was not newer.
   */
  addReading(connector: number, reading: Reading): boolean {
    if (Object.keys(reading.values).length === 0) return true
    if (connector === 0) {
      if (this.mainMeter && reading.ts < this.mainMeter.ts) return false
      this.mainMeter =
        this.mainMeter?.ts === reading.ts
          ? { ts: reading.ts, values: { ...this.mainMeter.values, ...reading.values } }
          : reading
      return true
    }
    const { state } = this.connector(connector)
    const soc = reading.values.soc_pct
    if (soc !== undefined && !(state.soc && reading.ts < state.soc.ts))
      state.soc = { ts: reading.ts, pct: soc }
    const held = state.reading
    if (held && reading.ts < held.ts) return false
    // Values of one time stamp sent in separate messages belong together.
    state.reading =
      held?.ts === reading.ts ? { ts: reading.ts, values: { ...held.values, ...reading.values } } : reading
    return true
  }

  /** The latest reading of a connector, if any. */
  reading(connector: number): Reading | undefined {
    return this.connectors.get(connector)?.reading
  }

  sessionStarted(connector: number, session: string, ts: number): void {
    this.connector(connector).state.session = session
    this.publishSession({ ts, event: 'started', session, connector }, this.reading(connector)?.values.soc_pct)
  }

  sessionStopped(
    connector: number,
    session: string,
    ts: number,
    stop: { socSince: number; energyWh?: number; reason: string },
  ): void {
    const state = this.connectors.get(connector)
    if (state?.session === session) delete state.session
    // The car's last SoC, when it was reported since `socSince` (the session's start, and recent enough
    // to be the SoC at the end); an older one is not passed off as the end's.
    const soc = state?.soc && state.soc.ts >= stop.socSince ? state.soc.pct : undefined
    // That SoC was this car's; the next session starts without one.
    if (state) delete state.soc
    this.publishSession(
      {
        ts,
        event: 'stopped',
        session,
        connector,
        ...(stop.energyWh !== undefined && { energy_wh: stop.energyWh }),
        reason: stop.reason,
      },
      soc,
    )
  }

  private publishSession(event: SessionEvent, soc: number | undefined): void {
    this.out.publish(this.site, this.station, 'session', {
      ...event,
      ...(soc !== undefined && { soc_pct: soc }),
    })
  }

  /** Marks a session as open on a connector without an event (a transaction known from before a restart). */
  resumeSession(connector: number, session: string): void {
    this.connector(connector).state.session = session
  }

  /**
   * One telemetry sample at `now`: every connector whose status is known, with its latest reading while
   * it is younger than `staleAfterMs`, marked with the time it was taken (`measured_at`) — a reading is
   * carried, never extrapolated, and dropped once stale. The main meter has no such mark in the
   * contract, so its values go out only in the sample period they were taken in.
   */
  telemetry(now: number, staleAfterMs: number, periodMs: number): Telemetry | null {
    const connectors: ConnectorSample[] = []
    for (const [id, state] of [...this.connectors].sort(([a], [b]) => a - b)) {
      const effective = this.effective(state)
      if (!effective) continue
      const sample: ConnectorSample = { id, status: effective.status }
      const r = state.reading
      if (r && now - r.ts <= staleAfterMs) {
        Object.assign(sample, r.values)
        if (r.ts < now) sample.measured_at = r.ts
      }
      if (state.session) sample.session = state.session
      connectors.push(sample)
    }
    if (connectors.length === 0) return null
    const meter: MeterSample = {}
    const m = this.mainMeter
    if (m && now - m.ts < periodMs && m.ts <= now) {
      if (m.values.power_w !== undefined) meter.grid_power_w = m.values.power_w
      if (m.values.energy_wh !== undefined) meter.grid_energy_wh = m.values.energy_wh
      if (m.values.temp_c !== undefined) meter.cabinet_temp_c = m.values.temp_c
    }
    return { v: 1, ts: now, seq: this.seq++, meter, connectors }
  }

  publishTelemetry(now: number, staleAfterMs: number, periodMs: number): void {
    const sample = this.telemetry(now, staleAfterMs, periodMs)
    if (sample) this.out.publish(this.site, this.station, 'telemetry', sample)
  }
}
