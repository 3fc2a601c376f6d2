import type { ConnectorStatus, Online, SessionEvent, StatusEvent, Telemetry } from '@evmon/contracts'

// Reference computations of every analytics figure, straight from the NDJSON messages a station sends
// (the same lines the tests write to InfluxDB). Deliberately simple and independent of the API's code:
// states are walked second by second, energies are summed sample by sample.

const PLUGGED = new Set(['Preparing', 'Charging', 'SuspendedEVSE', 'SuspendedEV', 'Finishing'])
const DOWN = new Set(['Faulted', 'Unavailable', 'SuspendedEVSE'])

export interface Messages {
  telemetry: Array<{ station: string; t: Telemetry }>
  statuses: Array<{ station: string; s: StatusEvent }>
  sessions: Array<{ station: string; s: SessionEvent }>
  /** Online changes with their time: a last will has none and is placed at the message before it. */
  online: Array<{ station: string; ts: number; online: boolean }>
}

export function messagesOf(lines: readonly string[]): Messages {
  const out: Messages = { telemetry: [], statuses: [], sessions: [], online: [] }
  let lastTs = 0
  for (const line of lines) {
    const { topic, payload } = JSON.parse(line) as { topic: string; payload: { ts?: number } }
    const [, , , station = '', kind] = topic.split('/')
    if (kind === 'telemetry') out.telemetry.push({ station, t: payload as Telemetry })
    if (kind === 'status') out.statuses.push({ station, s: payload as StatusEvent })
    if (kind === 'session') out.sessions.push({ station, s: payload as SessionEvent })
    if (kind === 'online')
      out.online.push({ station, ts: payload.ts ?? lastTs, online: (payload as Online).online })
    lastTs = payload.ts ?? lastTs
  }
  return out
}

export interface ConnectorTime {
  periodS: number
  pluggedS: number
  chargingS: number
  outageS: number
  excludedS: number
}

/**
 * Seconds by state per `station/connector` in [fromMs, endMs), walking every second: the state is the
 * latest status message at or before that second, the link the latest online message (online if none).
 * A connector is counted from `fromMs` if a status message came before it, else from its first status
 * message or telemetry sample in the window.
 */
export function connectorTimes(
  m: Messages,
  fromMs: number,
  endMs: number,
  excluded: ReadonlyArray<{ from: number; to: number }> = [],
): Map<string, ConnectorTime> {
  const keys = new Set<string>()
  for (const { station, s } of m.statuses) keys.add(`${station}/${s.connector}`)
  for (const { station, t } of m.telemetry) for (const c of t.connectors) keys.add(`${station}/${c.id}`)
  const out = new Map<string, ConnectorTime>()
  for (const key of keys) {
    const [station = '', id] = key.split('/')
    const events = m.statuses
      .filter((e) => e.station === station && String(e.s.connector) === id)
      .map((e) => ({ ts: e.s.ts, status: e.s.status }))
      .sort((a, b) => a.ts - b.ts)
    const links = m.online.filter((o) => o.station === station).sort((a, b) => a.ts - b.ts)
    const firstSample = m.telemetry.find(
      (x) =>
        x.station === station &&
        x.t.ts >= fromMs &&
        x.t.ts < endMs &&
        x.t.connectors.some((c) => String(c.id) === id),
    )
    let start = fromMs
    let status: ConnectorStatus | null = null
    if (!events.some((e) => e.ts <= fromMs)) {
      const firstEvent = events.find((e) => e.ts >= fromMs)
      const candidates = [firstEvent?.ts, firstSample?.t.ts].filter((t): t is number => t !== undefined)
      if (candidates.length === 0) continue
      start = Math.min(...candidates)
      if (
        firstSample !== undefined &&
        firstSample.t.ts === start &&
        (firstEvent === undefined || firstEvent.ts > start)
      )
        status = firstSample.t.connectors.find((c) => String(c.id) === id)?.status ?? null
    }
    const acc: ConnectorTime = { periodS: 0, pluggedS: 0, chargingS: 0, outageS: 0, excludedS: 0 }
    let e = 0
    let l = 0
    let online = true
    for (let t = start; t < endMs; t += 1000) {
      while (e < events.length && (events[e]?.ts ?? Infinity) <= t) status = events[e++]?.status ?? status
      while (l < links.length && (links[l]?.ts ?? Infinity) <= t) online = links[l++]?.online ?? online
      if (status === null) continue
      acc.periodS++
      if (PLUGGED.has(status)) acc.pluggedS++
      if (status === 'Charging') acc.chargingS++
      if (!online || DOWN.has(status)) {
        acc.outageS++
        if (excluded.some((x) => t >= x.from && t < x.to)) acc.excludedS++
      }
    }
    out.set(key, acc)
  }
  return out
}

/** Σ non-negative register steps between consecutive samples inside [fromMs, toMs), per `station/connector`. */
export function connectorEnergy(m: Messages, fromMs: number, toMs: number): Map<string, number> {
  const previous = new Map<string, number>()
  const out = new Map<string, number>()
  for (const { station, t } of [...m.telemetry].sort((a, b) => a.t.ts - b.t.ts)) {
    if (t.ts < fromMs || t.ts >= toMs) continue
    for (const c of t.connectors) {
      if (c.energy_wh === undefined) continue
      const key = `${station}/${c.id}`
      const before = previous.get(key)
      out.set(key, (out.get(key) ?? 0) + (before === undefined ? 0 : Math.max(0, c.energy_wh - before)))
      previous.set(key, c.energy_wh)
    }
  }
  return out
}

/** The same for each station's grid register. */
export function gridEnergy(m: Messages, fromMs: number, toMs: number): Map<string, number> {
  const previous = new Map<string, number>()
  const out = new Map<string, number>()
  for (const { station, t } of [...m.telemetry].sort((a, b) => a.t.ts - b.t.ts)) {
    const wh = t.meter.grid_energy_wh
    if (t.ts < fromMs || t.ts >= toMs || wh === undefined) continue
    const before = previous.get(station)
    out.set(station, (out.get(station) ?? 0) + (before === undefined ? 0 : Math.max(0, wh - before)))
    previous.set(station, wh)
  }
  return out
}

export interface ReferenceSession {
  id: string
  station: string
  connector: number
  vehicle: string | null
  energyWh: number
  chargingMs: number
}

/**
 * Per session that started in [fromMs, toMs): over consecutive samples of the session, the register
 * step and the time between them, counted when both samples show power flowing with an SoC within
 * 10–80%.
 */
export function sessionSpeeds(m: Messages, fromMs: number, toMs: number): ReferenceSession[] {
  const out: ReferenceSession[] = []
  for (const { station, s } of m.sessions) {
    if (s.event !== 'started' || s.ts < fromMs || s.ts >= toMs) continue
    const stop =
      m.sessions.find((x) => x.s.event === 'stopped' && x.s.session === s.session)?.s.ts ?? Infinity
    const samples = m.telemetry
      .filter((x) => x.station === station && x.t.ts >= s.ts && x.t.ts <= stop)
      .map((x) => ({ ts: x.t.ts, c: x.t.connectors.find((c) => c.id === s.connector) }))
      .filter((x) => x.c?.session === s.session)
      .sort((a, b) => a.ts - b.ts)
    let energyWh = 0
    let chargingMs = 0
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]
      const b = samples[i]
      if (a?.c === undefined || b?.c === undefined) continue
      const flowing = (c: typeof a.c) =>
        (c.power_w ?? 0) > 0 && c.soc_pct !== undefined && c.soc_pct >= 10 && c.soc_pct <= 80
      if (flowing(a.c) && flowing(b.c)) {
        energyWh += Math.max(0, (b.c.energy_wh ?? 0) - (a.c.energy_wh ?? 0))
        chargingMs += b.ts - a.ts
      }
    }
    out.push({
      id: s.session,
      station,
      connector: s.connector,
      vehicle: s.vehicle ?? null,
      energyWh,
      chargingMs,
    })
  }
  return out
}

/** Σ energy ÷ Σ charging time over sessions with charging time, W, and how many. */
export function pooledSpeed(sessions: readonly ReferenceSession[]): { w: number | null; n: number } {
  const counted = sessions.filter((s) => s.chargingMs > 0)
  const ms = counted.reduce((t, s) => t + s.chargingMs, 0)
  return {
    w: ms > 0 ? (counted.reduce((e, s) => e + s.energyWh, 0) * 3_600_000) / ms : null,
    n: counted.length,
  }
}
