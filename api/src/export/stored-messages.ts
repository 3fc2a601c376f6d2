import {
  CONNECTOR_KEYS,
  MEASUREMENTS,
  METER_KEYS,
  pointsToMessages,
  type FieldValue,
  type Point,
  type TimedMessage,
} from '@evmon/contracts'
import { whereClause } from '../influx/scope.ts'
import { quoteIdentifier } from '../influx/influxql.ts'
import type { InfluxClient, InfluxSeries } from '../influx/client.ts'

/** Stored points are read this many milliseconds at a time, so memory stays flat whatever the range. */
const CHUNK_MS = 10 * 60_000

type Row = Record<string, unknown>

/** Rows as points: grouped by every tag, a series' tags are the point's tags and its columns the fields. */
function* pointsOf(measurement: string, series: InfluxSeries[] | undefined): Generator<Point> {
  for (const s of series ?? []) {
    const timeAt = s.columns.indexOf('time')
    for (const values of s.values) {
      const fields: Record<string, FieldValue> = {}
      s.columns.forEach((c, i) => {
        const v = values[i]
        if (i !== timeAt && v !== null && v !== undefined) fields[c] = v as FieldValue
      })
      yield { measurement, tags: { ...s.tags }, fields, time: values[timeAt] as number }
    }
  }
}

/**
 * The station's MQTT messages rebuilt from its stored points in time order, by the contract's inverse
 * mapping (pointsToMessages).
 */
export async function* storedMessages(
  influx: InfluxClient,
  site: string,
  station: string,
  fromMs: number,
  toMs: number,
): AsyncGenerator<TimedMessage> {
  const q = quoteIdentifier
  const measurements = [MEASUREMENTS.station, MEASUREMENTS.connector, MEASUREMENTS.event]
  for (let start = fromMs; start < toMs; start += CHUNK_MS) {
    const where = whereClause({ site, station }, start, Math.min(toMs, start + CHUNK_MS))
    const results = await influx.query(
      measurements.map((m) => `SELECT * FROM ${q(m)} WHERE ${where} GROUP BY *`).join('; '),
    )
    const points = measurements.flatMap((m, i) => [...pointsOf(m, results[i]?.series)])
    yield* pointsToMessages(site, station, points)
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
