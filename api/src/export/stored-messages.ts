import {
  ConnectorSample,
  MEASUREMENTS,
  MeterSample,
  SessionEvent,
  StatusEvent,
  stationTopic,
  type ReplayMessage,
} from '@evmon/contracts'
import { whereClause } from '../analytics/scope.ts'
import { quoteIdentifier } from '../history/influxql.ts'
import type { InfluxClient, InfluxSeries } from '../plugins/influx.ts'

/** Stored points are read this many milliseconds at a time, so memory stays flat whatever the range. */
const CHUNK_MS = 10 * 60_000

/** A stored message with its time: what export writes and replay paces. */
export interface TimedMessage {
  t: number
  message: ReplayMessage
}

type Row = Record<string, unknown>

function rowsOf(series: InfluxSeries[] | undefined): Row[] {
  const out: Row[] = []
  for (const s of series ?? []) {
    for (const values of s.values) {
      const row: Row = { ...s.tags }
      s.columns.forEach((c, i) => {
        if (values[i] !== null && values[i] !== undefined) row[c] = values[i]
      })
      out.push(row)
    }
  }
  return out
}

/** Copies the named fields that are present, so payloads carry exactly the contract's keys. */
function pick(row: Row, keys: readonly string[]): Row {
  const out: Row = {}
  for (const k of keys) if (row[k] !== undefined) out[k] = row[k]
  return out
}

// The payload keys come from the contract's own schemas, so an export can never drift from what a
// station publishes (and the replay of an export decodes like the original).
const CONNECTOR_KEYS = Object.keys(ConnectorSample.properties).filter((k) => k !== 'id')
const METER_KEYS = Object.keys(MeterSample.properties)
const eventKeys = (schema: { properties: object }, structural: readonly string[]): string[] =>
  Object.keys(schema.properties).filter((k) => !structural.includes(k))
const STATUS_KEYS = eventKeys(StatusEvent, ['ts', 'connector'])
const SESSION_KEYS = eventKeys(SessionEvent, ['ts', 'event', 'session', 'connector'])
const KIND_ORDER = { online: 0, status: 1, session: 2, telemetry: 3 } as const

/**
 * Rebuilds the station's MQTT messages from stored points in time order, in the simulator's dry-run
 * shape: telemetry from the station and connector points of one timestamp, `online`, and the status
 * and session events. `meta` is not a time series and is not stored.
 */
export async function* storedMessages(
  influx: InfluxClient,
  site: string,
  station: string,
  fromMs: number,
  toMs: number,
): AsyncGenerator<TimedMessage> {
  const q = quoteIdentifier
  for (let start = fromMs; start < toMs; start += CHUNK_MS) {
    const where = whereClause({ site, station }, start, Math.min(toMs, start + CHUNK_MS))
    const [stations, connectors, events] = await influx.query(
      [
        `SELECT * FROM ${q(MEASUREMENTS.station)} WHERE ${where}`,
        `SELECT * FROM ${q(MEASUREMENTS.connector)} WHERE ${where}`,
        `SELECT * FROM ${q(MEASUREMENTS.event)} WHERE ${where}`,
      ].join('; '),
    )
    const out: Array<TimedMessage & { order: number }> = []
    const byTime = new Map<number, Row[]>()
    for (const c of rowsOf(connectors?.series)) {
      const t = c.time as number
      byTime.set(t, [...(byTime.get(t) ?? []), c])
    }
    for (const s of rowsOf(stations?.series)) {
      const t = s.time as number
      if (typeof s.online === 'number') {
        out.push({
          t,
          order: KIND_ORDER.online,
          message: {
            topic: stationTopic(site, station, 'online'),
            payload: { online: s.online === 1, ts: t },
            retain: true,
          },
        })
      }
      if (typeof s.grid_power_w !== 'number') continue
      const samples = (byTime.get(t) ?? []).sort((a, b) => Number(a.connector) - Number(b.connector))
      const payload = {
        v: 1,
        ts: t,
        seq: typeof samples[0]?.seq === 'number' ? samples[0].seq : 0,
        meter: pick(s, METER_KEYS),
        connectors: samples.map((c) => ({ id: Number(c.connector), ...pick(c, CONNECTOR_KEYS) })),
      }
      out.push({
        t,
        order: KIND_ORDER.telemetry,
        message: { topic: stationTopic(site, station, 'telemetry'), payload, retain: false },
      })
    }
    for (const e of rowsOf(events?.series)) {
      const t = e.time as number
      const connector = Number(e.connector)
      if (e.type === 'status') {
        const payload = { ts: t, connector, ...pick(e, STATUS_KEYS) }
        out.push({
          t,
          order: KIND_ORDER.status,
          message: { topic: stationTopic(site, station, 'status'), payload, retain: true },
        })
      } else if (e.type === 'session_started' || e.type === 'session_stopped') {
        const payload = {
          ts: t,
          event: e.type === 'session_started' ? 'started' : 'stopped',
          session: e.session,
          connector,
          ...pick(e, SESSION_KEYS),
        }
        out.push({
          t,
          order: KIND_ORDER.session,
          message: { topic: stationTopic(site, station, 'session'), payload, retain: false },
        })
      }
    }
    out.sort((a, b) => a.t - b.t || a.order - b.order)
    for (const { t, message } of out) yield { t, message }
  }
}

const CSV_COLUMNS = ['time', 'site', 'station', 'connector', ...CONNECTOR_KEYS, ...METER_KEYS] as const

const csvCell = (v: unknown): string => {
  if (v === undefined || v === null) return ''
  const text = String(v)
  // Formula prefixes are neutralised: exported files get opened in spreadsheets.
  const safe = /^[=+\-@]/.test(text) && typeof v === 'string' ? `'${text}` : text
  return /[",\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** Telemetry as CSV: a header, then one line per connector sample with its station's meter values. */
export async function* csvLines(
  messages: AsyncIterable<TimedMessage>,
  site: string,
  station: string,
): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\n`
  for await (const { t, message } of messages) {
    if (!message.topic.endsWith('/telemetry')) continue
    const payload = message.payload as { meter: Row; connectors: Row[] }
    let chunk = ''
    for (const c of payload.connectors) {
      const row: Row = {
        time: new Date(t).toISOString(),
        site,
        station,
        connector: c.id,
        ...c,
        ...payload.meter,
      }
      chunk += `${CSV_COLUMNS.map((k) => csvCell(row[k])).join(',')}\n`
    }
    yield chunk
  }
}

/** NDJSON lines, exactly the simulator's dry-run format, so export → replay round-trips. */
export async function* ndjsonLines(messages: AsyncIterable<TimedMessage>): AsyncGenerator<string> {
  for await (const { message } of messages) yield `${JSON.stringify(message)}\n`
}
