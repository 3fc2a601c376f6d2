import type {
  ConnectorMeta,
  LiveConnector,
  LiveStation,
  ReplayMessage,
  StationMeta,
  StatusEvent,
  Telemetry,
} from '@evmon/contracts'
import { stationLoadW } from '@evmon/contracts/live'
import { parseStationTopic } from '@evmon/contracts/topics'
import type { LiveState } from '../../stores/stream.ts'

// Stored MQTT messages folded into the live view's shape, so that replay drives the same station card
// and site-load chart as Live. Pure: one message in, a new station out.

function emptyConnector(id: number, meta?: ConnectorMeta): LiveConnector {
  return {
    id,
    kind: meta?.kind ?? null,
    max_power_w: meta?.max_power_w ?? null,
    liquid_cooled: meta?.liquid_cooled ?? false,
    status: null,
    error_code: null,
    power_w: null,
    offered_w: null,
    voltage_v: null,
    current_a: null,
    energy_wh: null,
    soc_pct: null,
    temp_c: null,
    coolant_c: null,
    session: null,
  }
}

/** A station before any message: offline until its `online` or first telemetry says otherwise. */
export function emptyStation(site: string, station: string): LiveStation {
  return {
    site,
    station,
    name: null,
    cooling: null,
    cabinet_max_power_w: null,
    online: false,
    stale: false,
    last_ts: null,
    grid_power_w: null,
    aux_power_w: null,
    ocpp_identity: null,
    connectors: [],
  }
}

function upsertConnector(
  connectors: readonly LiveConnector[],
  id: number,
  change: (c: LiveConnector) => LiveConnector,
): LiveConnector[] {
  const index = connectors.findIndex((c) => c.id === id)
  if (index === -1) return [...connectors, change(emptyConnector(id))].sort((a, b) => a.id - b.id)
  return connectors.map((c, i) => (i === index ? change(c) : c))
}

/** The station after one stored message; messages of other stations or kinds leave it unchanged. */
export function applyReplayMessage(station: LiveStation, message: ReplayMessage, t: number): LiveStation {
  const parsed = parseStationTopic(message.topic)
  if (!parsed.ok || parsed.topic.station !== station.station) return station
  const { topic } = parsed
  const payload = message.payload as Record<string, unknown> | null
  if (payload === null || typeof payload !== 'object') return station
  switch (topic.kind) {
    case 'meta': {
      const meta = payload as unknown as StationMeta
      const byId = new Map(meta.connectors.map((c) => [c.id, c]))
      const connectors = meta.connectors.map((c) => {
        const known = station.connectors.find((k) => k.id === c.id)
        const base = emptyConnector(c.id, c)
        return known
          ? { ...known, kind: base.kind, max_power_w: base.max_power_w, liquid_cooled: base.liquid_cooled }
          : base
      })
      for (const c of station.connectors) if (!byId.has(c.id)) connectors.push(c)
      return {
        ...station,
        name: meta.name,
        cooling: meta.cooling ?? null,
        cabinet_max_power_w: meta.cabinet_max_power_w ?? null,
        ocpp_identity: meta.ocpp?.identity ?? null,
        connectors: connectors.sort((a, b) => a.id - b.id),
      }
    }
    case 'online':
      return { ...station, online: payload.online === true }
    case 'status': {
      const status = payload as unknown as StatusEvent
      return {
        ...station,
        connectors: upsertConnector(station.connectors, status.connector, (c) => ({
          ...c,
          status: status.status,
          error_code: status.error_code,
        })),
      }
    }
    case 'telemetry': {
      const telemetry = payload as unknown as Telemetry
      let connectors = station.connectors
      for (const sample of telemetry.connectors) {
        connectors = upsertConnector(connectors, sample.id, (c) => {
          const next: LiveConnector = {
            ...c,
            status: sample.status,
            power_w: sample.power_w ?? null,
            offered_w: sample.offered_w ?? null,
            voltage_v: sample.voltage_v ?? null,
            current_a: sample.current_a ?? null,
            energy_wh: sample.energy_wh ?? null,
            soc_pct: sample.soc_pct ?? null,
            temp_c: sample.temp_c ?? null,
            coolant_c: sample.coolant_c ?? null,
            session: sample.session ?? null,
          }
          return next
        })
      }
      return {
        ...station,
        online: true,
        last_ts: telemetry.ts ?? t,
        grid_power_w: telemetry.meter.grid_power_w ?? null,
        aux_power_w: telemetry.meter.aux_power_w ?? null,
        connectors,
      }
    }
    default:
      return station
  }
}

/** The one-station live view at replay time `t`. */
export function replayView(station: LiveStation, t: number): LiveState {
  return {
    ts: t,
    site_power_w: stationLoadW(station.grid_power_w, station.connectors),
    sites: [],
    stations: [station],
  }
}
