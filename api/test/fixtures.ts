import {
  decodeMessage,
  stationTopic,
  type ConnectorSample,
  type DecodedMessage,
  type MessageKind,
  type PayloadByKind,
  type StationMeta,
  type Telemetry,
} from '@evmon/contracts'

/** A two-connector DC station description, valid against the contract. */
export function stationMeta(name: string, overrides: Partial<StationMeta> = {}): StationMeta {
  return {
    v: 1,
    name,
    location: { lat: 29.8, lon: 106.4 },
    cooling: 'liquid',
    cabinet_max_power_w: 480_000,
    connectors: [
      {
        id: 1,
        kind: 'dc',
        standard: 'GB/T 20234.3',
        max_power_w: 480_000,
        max_current_a: 670,
        min_voltage_v: 200,
        max_voltage_v: 1000,
        liquid_cooled: true,
      },
      {
        id: 2,
        kind: 'dc',
        standard: 'GB/T 20234.3',
        max_power_w: 160_000,
        max_current_a: 250,
        min_voltage_v: 200,
        max_voltage_v: 1000,
      },
    ],
    ...overrides,
  }
}

/** One connector sample; charging at `powerW` when above zero, available otherwise. */
export function connectorSample(
  id: number,
  powerW: number,
  extra: Partial<ConnectorSample> = {},
): ConnectorSample {
  return {
    id,
    status: powerW > 0 ? 'Charging' : 'Available',
    power_w: powerW,
    offered_w: powerW > 0 ? powerW + 10_000 : 0,
    voltage_v: powerW > 0 ? 750 : 0,
    current_a: powerW > 0 ? powerW / 750 : 0,
    energy_wh: 1_000_000,
    ...extra,
  }
}

/** A telemetry message whose grid power is the connectors' power plus `auxW`. */
export function telemetry(ts: number, seq: number, connectors: ConnectorSample[], auxW = 2_000): Telemetry {
  const charging = connectors.reduce((sum, c) => sum + c.power_w!, 0)
  return {
    v: 1,
    ts,
    seq,
    meter: {
      grid_power_w: charging + auxW,
      grid_energy_wh: 5_000_000 + seq,
      aux_power_w: auxW,
      cabinet_temp_c: 35,
    },
    connectors,
  }
}

/** Payload bytes as a station would publish them. */
export const encode = (payload: unknown): Buffer => Buffer.from(JSON.stringify(payload))

/** A message decoded by the contract, exactly as the live view receives it; throws if the fixture is invalid. */
export function decoded<K extends MessageKind>(
  site: string,
  station: string,
  kind: K,
  payload: PayloadByKind[K],
  nowMs: number,
): DecodedMessage {
  const result = decodeMessage(stationTopic(site, station, kind), encode(payload), nowMs)
  if (!result.ok) throw new Error(`invalid fixture: ${result.reason} ${result.detail}`)
  return result.message
}
