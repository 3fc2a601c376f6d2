import { MEASUREMENTS, type DecodedMessage, type FieldValue, type Point } from '@evmon/contracts'

/** A session between its `started` and `stopped` events, with what telemetry told about it. */
interface ActiveSession {
  session: string
  startedAt: number
  vehicle?: string
  socStart?: number
  socEnd?: number
  peakPowerW?: number
  firstRegisterWh?: number
  lastRegisterWh?: number
  lastSampleTs?: number
}

/** What survives a restart: open sessions, and the points of recently stopped ones. */
export interface SessionState {
  active: [key: string, session: ActiveSession][]
  stopped: [key: string, point: Point][]
}

// A stopped session's point is kept so that a redelivered `stopped` writes the very same point; after
// this many newer stops, a redelivery that late is unlikely enough (the broker resends on reconnect).
const STOPPED_REMEMBERED = 2_000

function definedFields(fields: Record<string, FieldValue | undefined>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {}
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v
  return out
}

/**
 * Turns session events into `session` points (docs/design.md): one per session, at the session's start
 * time, so the `started` point (session, started_at, soc_start, vehicle) is completed in place by the
 * `stopped` one (duration_s, energy_wh, soc_end, peak_power_w, reason) and redelivery overwrites
 * instead of duplicating. Telemetry of the session's connector feeds the peak power, the SoC when the
 * events lack it, and the energy (register delta) when `stopped` lacks `energy_wh`.
 *
 * A `stopped` without a known start (it began before ingest first ran, or its state was lost) is
 * written at the stop time without `started_at` or `duration_s`.
 */
export class SessionTracker {
  private readonly active = new Map<string, ActiveSession>()
  private readonly stopped = new Map<string, Point>()
  /** True when the state changed since {@link snapshot}. */
  dirty = false

  constructor(state?: SessionState) {
    for (const [key, session] of state?.active ?? []) this.active.set(key, session)
    for (const [key, point] of state?.stopped ?? []) this.stopped.set(key, point)
  }

  get activeCount(): number {
    return this.active.size
  }

  /** The session points a message yields (none for most), updating the state. */
  observe(message: DecodedMessage): Point[] {
    const { site, station } = message
    if (message.kind === 'telemetry') {
      const { ts } = message.payload
      for (const c of message.payload.connectors) {
        const s = this.active.get(`${site}/${station}/${c.id}`)
        if (!s || ts < s.startedAt || (c.session !== undefined && c.session !== s.session)) continue
        // A reading the charger does not take stays unknown; it never counts as 0.
        if (c.power_w !== undefined) s.peakPowerW = Math.max(s.peakPowerW ?? 0, c.power_w)
        s.firstRegisterWh ??= c.energy_wh
        s.socStart ??= c.soc_pct
        if (ts >= (s.lastSampleTs ?? -Infinity)) {
          s.lastSampleTs = ts
          s.lastRegisterWh = c.energy_wh ?? s.lastRegisterWh
          s.socEnd = c.soc_pct ?? s.socEnd
        }
        this.dirty = true
      }
      return []
    }
    if (message.kind !== 'session') return []
    const e = message.payload
    const key = `${site}/${station}/${e.connector}`
    const tags = { site, station, connector: String(e.connector) }
    const stoppedKey = `${key}/${e.session}`
    const done = this.stopped.get(stoppedKey)
    if (done) return [done]

    if (e.event === 'started') {
      const current = this.active.get(key)
      if (current?.session !== e.session) {
        this.active.set(key, { session: e.session, startedAt: e.ts, vehicle: e.vehicle, socStart: e.soc_pct })
        this.dirty = true
      }
      const s = this.active.get(key) as ActiveSession
      return [
        {
          measurement: MEASUREMENTS.session,
          tags,
          fields: definedFields({
            session: s.session,
            started_at: s.startedAt,
            soc_start: s.socStart,
            vehicle: s.vehicle,
          }),
          time: s.startedAt,
        },
      ]
    }

    const s = this.active.get(key)
    const known = s?.session === e.session ? s : undefined
    const registerDelta =
      known?.firstRegisterWh !== undefined && known.lastRegisterWh !== undefined
        ? known.lastRegisterWh - known.firstRegisterWh
        : undefined
    const point: Point = {
      measurement: MEASUREMENTS.session,
      tags,
      fields: definedFields({
        session: e.session,
        started_at: known?.startedAt,
        duration_s: known ? (e.ts - known.startedAt) / 1000 : undefined,
        energy_wh: e.energy_wh ?? registerDelta,
        soc_start: known?.socStart,
        soc_end: e.soc_pct ?? known?.socEnd,
        peak_power_w: known?.peakPowerW,
        vehicle: e.vehicle ?? known?.vehicle,
        reason: e.reason,
      }),
      time: known?.startedAt ?? e.ts,
    }
    if (known) this.active.delete(key)
    this.stopped.set(stoppedKey, point)
    if (this.stopped.size > STOPPED_REMEMBERED)
      this.stopped.delete(this.stopped.keys().next().value as string)
    this.dirty = true
    return [point]
  }

  /** The state to persist; clears `dirty`. */
  snapshot(): SessionState {
    this.dirty = false
    return { active: [...this.active], stopped: [...this.stopped] }
  }
}
