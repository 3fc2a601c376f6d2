import {
  registerReference,
  registerWentBack,
  type Alert,
  type AlertType,
  type DecodedMessage,
} from '@evmon/contracts'
import { DERATE_START_C } from '@evmon/contracts/site'

/** Thresholds of the alert rules, each a documented ASSUMPTION to tune. */
export const alertRules = {
  highTempC: DERATE_START_C, // where the site's liquid-cooled guns start derating
  highTempClearC: DERATE_START_C - 2, // hysteresis, so a gun hovering at the threshold does not flap
  siteLoadNearPct: 90, // of the grid limit
  siteLoadClearPct: 85,
  maxKept: 5_000, // alerts kept in memory, oldest dropped first
} as const

type Severity = Alert['severity']
type Listener = (alert: Alert) => void

const SEVERITY: Record<AlertType, Severity> = {
  station_offline: 'critical',
  connector_faulted: 'critical',
  high_temperature: 'warning',
  register_backwards: 'critical',
  telemetry_gap: 'warning',
  site_load_near_limit: 'warning',
}

/** The condition an alert stands for: its type and place. At most one alert per key is open. */
export const conditionKey = (a: Pick<Alert, 'type' | 'site' | 'station' | 'connector'>): string =>
  `${a.type}|${a.site}|${a.station}|${a.connector}`

/** What the engine needs to carry on where it left off, e.g. after a restart. */
export interface AlertEngineState {
  /** Ids already handed out; the next alert's id is built from `counter + 1`. */
  counter: number
  /** Oldest first; those with `ended_at: null` are open. */
  alerts: Alert[]
  /** Last energy register per `site/station/connector`, for the register-backwards rule. */
  lastEnergy: Record<string, number>
}

/**
 * Turns the message stream and the live view into alerts with a start and an end. Each condition has
 * at most one open alert (keyed by type and place); a condition that clears ends it.
 */
export class AlertEngine {
  private readonly open = new Map<string, Alert>()
  private readonly all: Alert[] = []
  private readonly byId = new Map<string, Alert>()
  private readonly listeners = new Set<Listener>()
  private readonly lastEnergy = new Map<string, number>()
  private counter = 0

  /** `saved`: a {@link state} of an earlier engine (its open alerts stay open until their condition clears). */
  constructor(saved?: AlertEngineState) {
    if (saved === undefined) return
    this.counter = saved.counter
    for (const alert of saved.alerts) this.add(alert)
    for (const [key, wh] of Object.entries(saved.lastEnergy)) this.lastEnergy.set(key, wh)
  }

  /** The engine's state now, to serialise at once (it shares the alert objects). */
  state(): AlertEngineState {
    return { counter: this.counter, alerts: this.all, lastEnergy: Object.fromEntries(this.lastEnergy) }
  }

  /** Alerts, newest first, optionally only open ones or one site/station's. */
  list(filter: { site?: string; station?: string; active?: boolean; limit?: number } = {}): Alert[] {
    const out: Alert[] = []
    for (let i = this.all.length - 1; i >= 0 && out.length < (filter.limit ?? Infinity); i--) {
      const a = this.all[i] as Alert
      if (filter.site !== undefined && a.site !== filter.site) continue
      if (filter.station !== undefined && a.station !== filter.station) continue
      if (filter.active === true && a.ended_at !== null) continue
      if (filter.active === false && a.ended_at === null) continue
      out.push(a)
    }
    return out
  }

  get(id: string): Alert | undefined {
    return this.byId.get(id)
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  acknowledge(id: string, by: string, now: number): Alert | undefined {
    const alert = this.byId.get(id)
    if (alert === undefined) return undefined
    if (alert.acknowledged_at === null) {
      alert.acknowledged_at = now
      alert.acknowledged_by = by
      this.emit(alert)
    }
    return alert
  }

  /** Applies one decoded station message. */
  observe(message: DecodedMessage, now: number): void {
    const { site, station } = message
    switch (message.kind) {
      case 'online':
        if (message.payload.online) this.close('station_offline', site, station, null, now)
        else this.raise('station_offline', site, station, null, now, `station ${station} went offline`)
        break
      case 'status': {
        const p = message.payload
        if (p.status === 'Faulted') {
          this.raise(
            'connector_faulted',
            site,
            station,
            p.connector,
            p.ts,
            `connector ${p.connector} faulted: ${p.error_code}`,
            {
              error_code: p.error_code,
            },
          )
        } else this.close('connector_faulted', site, station, p.connector, p.ts)
        break
      }
      case 'telemetry': {
        const t = message.payload
        this.close('telemetry_gap', site, station, null, t.ts)
        for (const c of t.connectors) {
          const key = `${site}/${station}/${c.id}`
          const previous = this.lastEnergy.get(key)
          // A sample without the register (not metered, or a charger's held readings) says nothing of it;
          // a dip within rounding is the same reading at another resolution (contracts' registerWentBack).
          if (
            c.energy_wh !== undefined &&
            previous !== undefined &&
            registerWentBack(previous, c.energy_wh)
          ) {
            this.raise(
              'register_backwards',
              site,
              station,
              c.id,
              t.ts,
              `energy register of connector ${c.id} went back by ${previous - c.energy_wh} Wh`,
              {
                value: c.energy_wh - previous,
              },
            )
            // A register reading is a moment, not a state: the alert ends where it starts.
            this.close('register_backwards', site, station, c.id, t.ts)
          }
          if (c.energy_wh !== undefined)
            this.lastEnergy.set(
              key,
              previous === undefined ? c.energy_wh : registerReference(previous, c.energy_wh),
            )
          // Telemetry carries every connector's status each period, while the retained status topic
          // holds only the station's last change: a recovery sent while the API was down, or before a
          // later change on another connector, shows here. Only a sample newer than the fault counts.
          if (c.status !== 'Faulted') this.close('connector_faulted', site, station, c.id, t.ts, true)
          if (c.temp_c !== undefined && c.temp_c >= alertRules.highTempC) {
            this.raise(
              'high_temperature',
              site,
              station,
              c.id,
              t.ts,
              `connector ${c.id} at ${c.temp_c} °C: thermal derating`,
              { value: c.temp_c },
            )
          } else if (c.temp_c !== undefined && c.temp_c < alertRules.highTempClearC) {
            this.close('high_temperature', site, station, c.id, t.ts)
          }
        }
        break
      }
      default:
        break
    }
  }

  /** Periodic checks against the live view: stale stations and site load near the grid limit. */
  check(
    now: number,
    stale: ReadonlyArray<{ site: string; station: string; lastTs: number | null }>,
    sites: ReadonlyArray<{ site: string; power_w: number; grid_limit_w: number | null }>,
  ): void {
    for (const s of stale) {
      this.raise(
        'telemetry_gap',
        s.site,
        s.station,
        null,
        s.lastTs ?? now,
        `no telemetry from ${s.station} for 3 sample periods`,
      )
    }
    for (const t of sites) {
      if (t.grid_limit_w === null || t.grid_limit_w <= 0) continue
      const pct = (100 * t.power_w) / t.grid_limit_w
      if (pct >= alertRules.siteLoadNearPct) {
        this.raise(
          'site_load_near_limit',
          t.site,
          null,
          null,
          now,
          `site load ${Math.round(pct)}% of the grid limit`,
          { value: t.power_w },
        )
      } else if (pct < alertRules.siteLoadClearPct)
        this.close('site_load_near_limit', t.site, null, null, now)
    }
  }

  private raise(
    type: AlertType,
    site: string,
    station: string | null,
    connector: number | null,
    at: number,
    message: string,
    extra: { error_code?: Alert['error_code']; value?: number } = {},
  ): void {
    if (this.open.has(conditionKey({ type, site, station, connector }))) return
    const alert: Alert = {
      id: `a${(++this.counter).toString(36)}-${at.toString(36)}`,
      type,
      severity: SEVERITY[type],
      site,
      station,
      connector,
      message,
      error_code: extra.error_code ?? null,
      value: extra.value ?? null,
      started_at: at,
      ended_at: null,
      acknowledged_at: null,
      acknowledged_by: null,
    }
    this.add(alert)
    this.emit(alert)
  }

  private add(alert: Alert): void {
    if (alert.ended_at === null) this.open.set(conditionKey(alert), alert)
    this.all.push(alert)
    this.byId.set(alert.id, alert)
    if (this.all.length > alertRules.maxKept) {
      const dropped = this.all.shift() as Alert
      this.byId.delete(dropped.id)
    }
  }

  private close(
    type: AlertType,
    site: string,
    station: string | null,
    connector: number | null,
    at: number,
    onlyIfNewer = false,
  ): void {
    const key = conditionKey({ type, site, station, connector })
    const alert = this.open.get(key)
    if (alert === undefined || (onlyIfNewer && at <= alert.started_at)) return
    this.open.delete(key)
    alert.ended_at = Math.max(at, alert.started_at)
    this.emit(alert)
  }

  private emit(alert: Alert): void {
    for (const listener of this.listeners) listener(alert)
  }
}
