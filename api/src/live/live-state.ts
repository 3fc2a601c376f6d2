import {
  stationLoadW,
  type ConnectorStatus,
  type DecodedMessage,
  type LiveConnector,
  type LiveSnapshot,
  type LiveStation,
  type StationMeta,
  type StatusEvent,
  type Telemetry,
} from '@evmon/contracts'

/** Narrows a snapshot or station list; an absent key matches everything. */
export interface LiveFilter {
  site?: string
  station?: string
}

/** One station as `/api/v1/stations` lists it: its retained description plus whether it is online. */
export interface StationSummary {
  site: string
  id: string
  meta: StationMeta
  online: boolean
}

interface StationState {
  site: string
  station: string
  meta: StationMeta | null
  online: boolean
  telemetry: Telemetry | null
  /** Our clock, not the station's: staleness must not depend on the station's clock being right. */
  telemetryReceivedAt: number | null
  /**
   * When we heard the station come online (our clock). Telemetry is due from then on, so a station
   * that has just connected, or that the API has just learned of from retained messages at its own
   * start, is not stale before it has had three sample periods to send.
   */
  onlineSince: number | null
  statusEvents: Map<number, StatusEvent>
  /** Vehicle and start SoC of the session running on each connector, from session events. */
  sessions: Map<number, { session: string; vehicle: string | null; socPct: number | null }>
  /** The live connectors built from the above, reused until a message changes the station. */
  connectors: LiveConnector[] | null
}

/** Stations sorted for snapshots, all of them and by site; rebuilt only when a station appears or goes. */
interface StationIndex {
  all: StationState[]
  bySite: Map<string, StationState[]>
}

/** A session running on a connector, as its `started` event described it. */
export interface RunningSession {
  session: string
  vehicle: string | null
  socPct: number | null
}

const keyOf = (site: string, station: string): string => `${site}/${station}`

const matches = (s: { site: string; station: string }, filter: LiveFilter): boolean =>
  (filter.site === undefined || s.site === filter.site) &&
  (filter.station === undefined || s.station === filter.station)

const byStationThenSite = (
  a: { site: string; station: string },
  b: { site: string; station: string },
): number =>
  a.station < b.station ? -1 : a.station > b.station ? 1 : a.site < b.site ? -1 : a.site > b.site ? 1 : 0

/**
 * The latest known state of every station, fed with decoded MQTT messages. Pure: it keeps no timers
 * and reads no clock, so the caller passes receive times in and snapshot times out.
 */
export class LiveState {
  private readonly stations = new Map<string, StationState>()
  private changes = 0
  private index: StationIndex | null = null

  /** @param staleAfterMs a station without telemetry for longer than this is stale */
  constructor(private readonly staleAfterMs: number) {}

  /** Grows with every change that can alter a snapshot, so watchers can skip unchanged periods. */
  get version(): number {
    return this.changes
  }

  get size(): number {
    return this.stations.size
  }

  /** Applies one decoded message received at `receivedAt`; returns false when it changed nothing. */
  apply(message: DecodedMessage, receivedAt: number): boolean {
    const state = this.stationState(message.site, message.station)
    switch (message.kind) {
      case 'meta':
        state.meta = message.payload
        break
      case 'online':
        if (message.payload.online && !state.online) state.onlineSince = receivedAt
        state.online = message.payload.online
        break
      case 'telemetry':
        // QoS 1 may redeliver an older sample after a newer one: the live view only moves forward.
        if (state.telemetry !== null && message.payload.ts < state.telemetry.ts) return false
        state.telemetry = message.payload
        state.telemetryReceivedAt = receivedAt
        break
      case 'status': {
        const previous = state.statusEvents.get(message.payload.connector)
        if (previous !== undefined && message.payload.ts < previous.ts) return false
        state.statusEvents.set(message.payload.connector, message.payload)
        break
      }
      case 'session': {
        // Only the vehicle matters live (drivers' "free in" estimate); it changes no snapshot.
        const p = message.payload
        if (p.event === 'started') {
          state.sessions.set(p.connector, {
            session: p.session,
            vehicle: p.vehicle ?? null,
            socPct: p.soc_pct ?? null,
          })
        } else if (state.sessions.get(p.connector)?.session === p.session) state.sessions.delete(p.connector)
        return false
      }
    }
    state.connectors = null
    this.changes++
    return true
  }

  /** Drops a station whose retained description was cleared (decommissioned). */
  forget(site: string, station: string): boolean {
    const removed = this.stations.delete(keyOf(site, station))
    if (removed) {
      this.changes++
      this.index = null
    }
    return removed
  }

  /** The session running on a connector, if its start was seen. */
  runningSession(site: string, station: string, connector: number): RunningSession | undefined {
    return this.stations.get(keyOf(site, station))?.sessions.get(connector)
  }

  /** Sites at which a station with this id is known. */
  sitesOf(station: string): string[] {
    return [...this.stations.values()].filter((s) => s.station === station).map((s) => s.site)
  }

  /** Number of stale stations at `now`; without messages it can only grow, which makes it a cheap change signal. */
  staleCount(now: number): number {
    let count = 0
    for (const s of this.stations.values()) if (this.isStale(s, now)) count++
    return count
  }

  /**
   * What the alert rules need each second, without building snapshots: online stations that went
   * stale, and each site's power from its online, fresh stations.
   */
  scan(now: number): {
    stale: Array<{ site: string; station: string; lastTs: number | null }>
    sitePowerW: Map<string, number>
  } {
    const stale: Array<{ site: string; station: string; lastTs: number | null }> = []
    const sitePowerW = new Map<string, number>()
    for (const s of this.stations.values()) {
      const isStale = this.isStale(s, now)
      if (s.online && isStale)
        stale.push({ site: s.site, station: s.station, lastTs: s.telemetry?.ts ?? null })
      const t = s.telemetry
      const power = s.online && !isStale && t !== null ? stationLoadW(t.meter.grid_power_w, t.connectors) : 0
      sitePowerW.set(s.site, (sitePowerW.get(s.site) ?? 0) + power)
    }
    return { stale, sitePowerW }
  }

  /** Stations that have published their description, sorted by id. */
  summaries(filter: LiveFilter = {}): StationSummary[] {
    return [...this.stations.values()]
      .filter((s) => s.meta !== null && matches(s, filter))
      .sort(byStationThenSite)
      .map((s) => ({ site: s.site, id: s.station, meta: s.meta as StationMeta, online: s.online }))
  }

  /**
   * The live view at `now`, as the dashboard renders it. Connector lists are shared between snapshots
   * until their station changes: treat snapshots as read-only.
   */
  snapshot(now: number, filter: LiveFilter = {}): LiveSnapshot {
    const stations: LiveStation[] = []
    let sitePower = 0
    for (const s of this.scope(filter)) {
      if (filter.station !== undefined && s.station !== filter.station) continue
      const live = this.liveStation(s, now)
      if (live.online && !live.stale) sitePower += stationLoadW(live.grid_power_w, live.connectors)
      stations.push(live)
    }
    return { ts: now, site_power_w: sitePower, stations }
  }

  /** Stations of the filter's site (or all), in snapshot order. */
  private scope(filter: LiveFilter): readonly StationState[] {
    const index = (this.index ??= this.buildIndex())
    return filter.site === undefined ? index.all : (index.bySite.get(filter.site) ?? [])
  }

  private buildIndex(): StationIndex {
    const all = [...this.stations.values()].sort(byStationThenSite)
    const bySite = new Map<string, StationState[]>()
    for (const s of all) {
      const list = bySite.get(s.site)
      if (list === undefined) bySite.set(s.site, [s])
      else list.push(s)
    }
    return { all, bySite }
  }

  private stationState(site: string, station: string): StationState {
    const key = keyOf(site, station)
    let state = this.stations.get(key)
    if (state === undefined) {
      state = {
        site,
        station,
        meta: null,
        online: false,
        telemetry: null,
        telemetryReceivedAt: null,
        onlineSince: null,
        statusEvents: new Map(),
        sessions: new Map(),
        connectors: null,
      }
      this.stations.set(key, state)
      this.index = null
      // A new station shows in snapshots even if the message that named it changes nothing else.
      this.changes++
    }
    return state
  }

  private isStale(s: StationState, now: number): boolean {
    const since = freshSince(s)
    return since === null || now - since > this.staleAfterMs
  }

  private liveStation(s: StationState, now: number): LiveStation {
    return {
      site: s.site,
      station: s.station,
      name: s.meta?.name ?? null,
      cooling: s.meta?.cooling ?? null,
      cabinet_max_power_w: s.meta?.cabinet_max_power_w ?? null,
      online: s.online,
      stale: this.isStale(s, now),
      last_ts: s.telemetry?.ts ?? null,
      grid_power_w: s.telemetry?.meter.grid_power_w ?? null,
      aux_power_w: s.telemetry?.meter.aux_power_w ?? null,
      ocpp_identity: s.meta?.ocpp?.identity ?? null,
      connectors: (s.connectors ??= liveConnectors(s)),
    }
  }
}

/** Connectors named by the description, the latest sample or a status event, sorted by id. */
function liveConnectors(s: StationState): LiveConnector[] {
  const described = new Map(s.meta?.connectors.map((c) => [c.id, c]))
  const sampled = new Map(s.telemetry?.connectors.map((c) => [c.id, c]))
  const ids = new Set([...described.keys(), ...sampled.keys(), ...s.statusEvents.keys()])
  return [...ids]
    .sort((a, b) => a - b)
    .map((id) => {
      const meta = described.get(id)
      const sample = sampled.get(id)
      const event = s.statusEvents.get(id)
      return {
        id,
        kind: meta?.kind ?? null,
        max_power_w: meta?.max_power_w ?? null,
        liquid_cooled: meta?.liquid_cooled ?? false,
        status: latestStatus(sample?.status, s.telemetry?.ts, event),
        error_code: event?.error_code ?? null,
        power_w: sample?.power_w ?? null,
        offered_w: sample?.offered_w ?? null,
        voltage_v: sample?.voltage_v ?? null,
        current_a: sample?.current_a ?? null,
        energy_wh: sample?.energy_wh ?? null,
        soc_pct: sample?.soc_pct ?? null,
        temp_c: sample?.temp_c ?? null,
        coolant_c: sample?.coolant_c ?? null,
        session: sample?.session ?? null,
      }
    })
}

/** Telemetry and status events both report a status; the one with the later timestamp wins. */
function latestStatus(
  sampled: ConnectorStatus | undefined,
  sampledAt: number | undefined,
  event: StatusEvent | undefined,
): ConnectorStatus | null {
  if (event === undefined) return sampled ?? null
  if (sampled === undefined || sampledAt === undefined) return event.status
  return sampledAt >= event.ts ? sampled : event.status
}

/** The later of the station's last telemetry and its coming online: staleness counts from there. */
function freshSince(s: StationState): number | null {
  if (s.telemetryReceivedAt === null) return s.onlineSince
  if (s.onlineSince === null) return s.telemetryReceivedAt
  return Math.max(s.telemetryReceivedAt, s.onlineSince)
}
