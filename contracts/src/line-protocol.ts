import { OCCUPIED_STATUSES, UNAVAILABLE_STATUSES } from './ocpp.ts'
import type { ConnectorSample } from './schemas.ts'
import type { DecodedMessage } from './validate.ts'

/** Field values as InfluxDB stores them. Numbers are floats unless wrapped as integers. */
export type FieldValue = number | string | boolean | { int: number }

/** One InfluxDB point; `time` is UTC milliseconds (write with precision `ms`). */
export interface Point {
  measurement: string
  tags: Record<string, string>
  fields: Record<string, FieldValue>
  time: number
}

export class LineProtocolError extends Error {
  override name = 'LineProtocolError'
}

// InfluxDB 1.x line protocol cannot carry a newline (or other control character) in a measurement,
// key or tag value, and a trailing backslash in a tag would escape the separator that follows.
// Such input is refused outright: a point must never be silently corrupted.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

function checkIdentifier(value: string, what: string): void {
  if (value.length === 0) throw new LineProtocolError(`${what} is empty`)
  if (CONTROL.test(value)) throw new LineProtocolError(`${what} contains a control character`)
  if (value.endsWith('\\')) throw new LineProtocolError(`${what} ends with a backslash`)
}

/** Escapes a measurement name: commas and spaces. */
export function escapeMeasurement(name: string): string {
  if (PLAIN_MEASUREMENT.test(name)) return name
  checkIdentifier(name, 'measurement')
  return name.replace(/[, ]/g, (c) => `\\${c}`)
}

/** Escapes a tag key, tag value or field key: commas, equals signs and spaces. */
export function escapeKey(value: string): string {
  let escaped = escapedKeys.get(value)
  if (escaped === undefined) {
    checkIdentifier(value, 'tag or field key/value')
    escaped = value.replace(/[,= ]/g, (c) => `\\${c}`)
    // Keys, ids and statuses repeat on every point: memoise them, bounded so that a flood of distinct
    // values (which the schema's id pattern already prevents) cannot grow memory without limit.
    if (escapedKeys.size >= MAX_MEMOISED_KEYS) escapedKeys.clear()
    escapedKeys.set(value, escaped)
  }
  return escaped
}

const MAX_MEMOISED_KEYS = 100_000
const NEEDS_QUOTING = /[\\"\n\r]/
const PLAIN_MEASUREMENT = /^[A-Za-z0-9_.-]+$/
const escapedKeys = new Map<string, string>()

/**
 * Escapes a string field value and quotes it. Backslashes and double quotes are escaped as the
 * protocol defines; newlines and carriage returns, which 1.x cannot carry, become the two
 * characters `\n` / `\r`, so text from a station never splits a line.
 */
export function quoteFieldString(value: string): string {
  if (!NEEDS_QUOTING.test(value)) return `"${value}"`
  const escaped = value.replace(/[\\"\n\r]/g, (c) => {
    if (c === '\n') return '\\\\n'
    if (c === '\r') return '\\\\r'
    return `\\${c}`
  })
  return `"${escaped}"`
}

function formatField(key: string, value: FieldValue): string {
  let text: string
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LineProtocolError(`field ${key} is not finite`)
    text = String(value)
  } else if (typeof value === 'string') {
    text = quoteFieldString(value)
  } else if (typeof value === 'boolean') {
    text = value ? 'true' : 'false'
  } else {
    if (!Number.isSafeInteger(value.int)) throw new LineProtocolError(`field ${key} is not a safe integer`)
    text = `${value.int}i`
  }
  return `${escapeKey(key)}=${text}`
}

/** Serialises one point as a line (no trailing newline); tags are sorted as InfluxDB prefers. */
export function toLine(point: Point): string {
  // Pieces joined once, not appended with +=: appending builds a tree of string fragments that
  // stays alive (and is copied by every garbage collection) until the batch is flattened for the
  // write. Ingest serialises every point: joining once made a telemetry message 2.5× cheaper.
  const parts = [escapeMeasurement(point.measurement)]
  for (const key of Object.keys(point.tags).sort()) {
    parts.push(',', escapeKey(key), '=', escapeKey(point.tags[key] as string))
  }
  let separator = ' '
  for (const key in point.fields) {
    parts.push(separator, formatField(key, point.fields[key] as FieldValue))
    separator = ','
  }
  if (separator === ' ') throw new LineProtocolError(`point ${point.measurement} has no fields`)
  if (!Number.isSafeInteger(point.time)) throw new LineProtocolError('point time is not an integer')
  parts.push(' ', String(point.time))
  return parts.join('')
}

/** Measurements of the evmon schema (docs/design.md "InfluxDB schema"). */
export const MEASUREMENTS = {
  connector: 'connector',
  station: 'station',
  event: 'event',
} as const

function defined(fields: Record<string, FieldValue | undefined>): Record<string, FieldValue> {
  // Runs for every point ingest writes: a plain loop, not Object.entries' array per field.
  const out: Record<string, FieldValue> = {}
  for (const k in fields) {
    const v = fields[k]
    if (v !== undefined) out[k] = v
  }
  return out
}

function hasFields(fields: Record<string, FieldValue>): boolean {
  for (const _ in fields) return true
  return false
}

/** What a connector measured: absent readings stay absent. */
function connectorReadings(c: ConnectorSample): Record<string, FieldValue> {
  return defined({
    power_w: c.power_w,
    offered_w: c.offered_w,
    voltage_v: c.voltage_v,
    current_a: c.current_a,
    energy_wh: c.energy_wh,
    soc_pct: c.soc_pct,
    temp_c: c.temp_c,
    coolant_c: c.coolant_c,
  })
}

/** The connector's state at the sample's time. */
function connectorState(c: ConnectorSample, seq: number): Record<string, FieldValue> {
  return defined({
    status: c.status,
    // 0/1 flags so occupancy and availability are a plain mean() in InfluxQL and in rollups.
    occupied: OCCUPIED_STATUSES.has(c.status) ? 1 : 0,
    in_service: UNAVAILABLE_STATUSES.has(c.status) ? 0 : 1,
    session: c.session,
    seq: { int: seq },
  })
}

/**
 * Maps a decoded station message to InfluxDB points. Every point's time is the payload's `ts`, so a
 * redelivered message overwrites itself instead of duplicating. `receivedAt` stamps messages that
 * carry no time of their own (a last will's `{"online":false}`). `meta` is state, not a time series:
 * it maps to no point.
 */
export function messageToPoints(message: DecodedMessage, receivedAt: number): Point[] {
  const { site, station } = message
  switch (message.kind) {
    case 'telemetry': {
      const t = message.payload
      const points: Point[] = []
      // A reading the station does not report is no field at all, never a 0: a station without a grid
      // meter of its own (an OCPP charger) writes no station point from its telemetry.
      const meter = defined({
        grid_power_w: t.meter.grid_power_w,
        grid_energy_wh: t.meter.grid_energy_wh,
        aux_power_w: t.meter.aux_power_w,
        cabinet_temp_c: t.meter.cabinet_temp_c,
      })
      if (hasFields(meter)) {
        // Held meter readings, like a connector's, belong to the time they were taken.
        const time = t.meter.measured_at ?? t.ts
        points.push({ measurement: MEASUREMENTS.station, tags: { site, station }, fields: meter, time })
      }
      for (const c of t.connectors) {
        const tags = { site, station, connector: String(c.id) }
        const state = connectorState(c, t.seq)
        if (c.measured_at === undefined || c.measured_at === t.ts) {
          points.push({
            measurement: MEASUREMENTS.connector,
            tags,
            fields: Object.assign(connectorReadings(c), state),
            time: t.ts,
          })
          continue
        }
        // Readings held over from an earlier measurement are stored at their own time (once, however
        // many samples repeat them); the status is the station's word for this sample's time.
        points.push({ measurement: MEASUREMENTS.connector, tags, fields: state, time: t.ts })
        const readings = connectorReadings(c)
        if (hasFields(readings)) {
          points.push({ measurement: MEASUREMENTS.connector, tags, fields: readings, time: c.measured_at })
        }
      }
      return points
    }
    case 'status': {
      const s = message.payload
      return [
        {
          measurement: MEASUREMENTS.event,
          tags: { site, station, connector: String(s.connector), type: 'status' },
          fields: defined({ status: s.status, error_code: s.error_code, vendor_error: s.vendor_error }),
          time: s.ts,
        },
      ]
    }
    case 'session': {
      const s = message.payload
      return [
        {
          measurement: MEASUREMENTS.event,
          tags: { site, station, connector: String(s.connector), type: `session_${s.event}` },
          fields: defined({
            session: s.session,
            vehicle: s.vehicle,
            soc_pct: s.soc_pct,
            energy_wh: s.energy_wh,
            reason: s.reason,
            cost: s.cost,
            currency: s.currency,
          }),
          time: s.ts,
        },
      ]
    }
    case 'online':
      return [
        {
          measurement: MEASUREMENTS.station,
          tags: { site, station },
          fields: { online: message.payload.online ? 1 : 0 },
          time: message.payload.ts ?? receivedAt,
        },
      ]
    case 'meta':
      return []
  }
}
