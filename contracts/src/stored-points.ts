import type { ReplayMessage } from './api/replay.ts'
import { MEASUREMENTS, type FieldValue, type Point } from './line-protocol.ts'
import { ConnectorSample, MeterSample, SessionEvent, StatusEvent } from './schemas.ts'
import { MESSAGE_KINDS, stationTopic, type MessageKind } from './topics.ts'

// The inverse of messageToPoints (line-protocol.ts): stored points of one station back into the MQTT
// messages that produced them, for export and replay. Kept beside the forward mapping so that a field
// added there is seen here; contracts/test/stored-points.test.ts checks message → points → message.

/** A stored message with its time: what export writes and replay paces. */
export interface TimedMessage {
  t: number
  message: ReplayMessage
}

type Fields = Record<string, FieldValue>

/** Field values as a payload carries them: integer fields are plain numbers once read back. */
const plain = (value: FieldValue): number | string | boolean =>
  typeof value === 'object' ? value.int : value

/** Copies the named fields that are present, so payloads carry exactly the contract's keys. */
function pick(fields: Fields, keys: readonly string[]): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {}
  for (const k of keys) {
    const v = fields[k]
    if (v !== undefined) out[k] = plain(v)
  }
  return out
}

// The payload keys come from the contract's own schemas, so an export can never drift from what a
// station publishes (and the replay of an export decodes like the original). Keys that are no field
// (`measured_at`: held readings are stored at that time instead) are simply never found.
const schemaKeys = (schema: { properties: object }, structural: readonly string[]): string[] =>
  Object.keys(schema.properties).filter((k) => !structural.includes(k))
/** A connector sample's payload keys, in the contract's order (the CSV export's columns too). */
export const CONNECTOR_KEYS = schemaKeys(ConnectorSample, ['id'])
/** The station meter's payload keys, in the contract's order. */
export const METER_KEYS = schemaKeys(MeterSample, [])
const STATUS_KEYS = schemaKeys(StatusEvent, ['ts', 'connector'])
const SESSION_KEYS = schemaKeys(SessionEvent, ['ts', 'event', 'session', 'connector'])
/** Messages of one timestamp in the order a station publishes them. */
const KIND_ORDER: Partial<Record<MessageKind, number>> = { online: 0, status: 1, session: 2, telemetry: 3 }

const hasAny = (fields: Fields, keys: readonly string[]): boolean => keys.some((k) => fields[k] !== undefined)

/**
 * Rebuilds one station's MQTT messages from its stored points, in time order (the simulator's dry-run
 * shape): `online`, the status and session events, and telemetry wherever the station's meter or a
 * connector's state was stored, from the station and connector points of that timestamp. `meta` is not
 * a time series and is not stored. What the forward mapping cannot keep does not come back: a
 * sample's `measured_at` (its held readings are at that time, in the sample of that time if there is
 * one), and the `seq` of a sample without connectors (0).
 */
export function pointsToMessages(site: string, station: string, points: Iterable<Point>): TimedMessage[] {
  const out: Array<TimedMessage & { order: number }> = []
  const push = (t: number, kind: MessageKind, payload: unknown) =>
    out.push({
      t,
      order: KIND_ORDER[kind] ?? 0,
      message: { topic: stationTopic(site, station, kind), payload, retain: MESSAGE_KINDS[kind].retain },
    })
  const meters = new Map<number, Fields>()
  /** Connector fields by time and connector id, merged as InfluxDB merges points of one series and time. */
  const connectors = new Map<number, Map<number, Fields>>()
  const sampleTimes = new Set<number>()
  for (const p of points) {
    if (p.measurement === MEASUREMENTS.station) {
      const { online } = p.fields
      if (online !== undefined) push(p.time, 'online', { online: plain(online) === 1, ts: p.time })
      if (hasAny(p.fields, METER_KEYS)) {
        meters.set(p.time, { ...meters.get(p.time), ...p.fields })
        sampleTimes.add(p.time)
      }
    } else if (p.measurement === MEASUREMENTS.connector) {
      let atTime = connectors.get(p.time)
      if (atTime === undefined) connectors.set(p.time, (atTime = new Map()))
      const id = Number(p.tags.connector)
      atTime.set(id, { ...atTime.get(id), ...p.fields })
      if (p.fields.status !== undefined) sampleTimes.add(p.time)
    } else if (p.measurement === MEASUREMENTS.event) {
      const connector = Number(p.tags.connector)
      const { type } = p.tags
      if (type === 'status') {
        push(p.time, 'status', { ts: p.time, connector, ...pick(p.fields, STATUS_KEYS) })
      } else if (type === 'session_started' || type === 'session_stopped') {
        const event = type === 'session_started' ? 'started' : 'stopped'
        const session = p.fields.session === undefined ? undefined : plain(p.fields.session)
        push(p.time, 'session', { ts: p.time, event, session, connector, ...pick(p.fields, SESSION_KEYS) })
      }
    }
  }
  for (const t of sampleTimes) {
    const samples = [...(connectors.get(t) ?? [])].sort(([a], [b]) => a - b)
    const seq = samples[0]?.[1].seq
    push(t, 'telemetry', {
      v: 1,
      ts: t,
      seq: seq === undefined ? 0 : plain(seq),
      meter: pick(meters.get(t) ?? {}, METER_KEYS),
      connectors: samples.map(([id, fields]) => ({ id, ...pick(fields, CONNECTOR_KEYS) })),
    })
  }
  out.sort((a, b) => a.t - b.t || a.order - b.order)
  return out.map(({ t, message }) => ({ t, message }))
}
