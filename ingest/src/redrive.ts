import { open } from 'node:fs/promises'
import { decodeMessage, messageToPoints, toLine } from '@evmon/contracts'
import type { BackoffPolicy } from './backoff.ts'
import { writeBatch } from './batch-writer.ts'
import { lineRejectReason } from './pipeline.ts'
import { readDeadLetterFile, type DeadLetterRecord, type RedriveMark } from './dead-letter.ts'
import type { LineWriter } from './line-writer.ts'

/** Which records to redrive, and how far to move their times. */
export interface RedriveOptions {
  reason?: string
  station?: string
  /** Added to every sample time (`ts`, each `measured_at`, a refused line's timestamp), e.g. after a clock fix. */
  shiftMs: number
  backoff: BackoffPolicy
  /** Lines per write. */
  batchSize: number
}

/** What a redrive did; `points` is what it stored, so a second run proves it stored nothing new. */
export interface RedriveResult {
  /** Records matching the filters. */
  matched: number
  /** Of those, records an earlier redrive already stored: skipped. */
  alreadyRedriven: number
  /** Records whose points are now stored (and marked redriven). */
  redriven: number
  /** Points written by this run. */
  points: number
  /** Records still refused (by the contract, or by InfluxDB), with why; they stay for a later attempt. */
  stillRejected: { id: string; station?: string; reason: string; detail: string }[]
}

/** Counts of a store, by reason and station. */
export interface DeadLetterSummaryRow {
  reason: string
  station: string
  records: number
  redriven: number
  first: number
  last: number
}

const recordTime = (r: DeadLetterRecord) => (r.kind === 'message' ? r.receivedAt : r.rejectedAt)

/** The store's records grouped by reason and station, with how many were redriven. */
export async function summariseDeadLetters(
  path: string,
): Promise<{ rows: DeadLetterSummaryRow[]; torn: number }> {
  const { records, redriven, torn } = await readDeadLetterFile(path)
  const rows = new Map<string, DeadLetterSummaryRow>()
  for (const r of records) {
    const station = r.station ?? '-'
    const key = `${r.reason}\u0000${station}`
    const t = recordTime(r)
    const row = rows.get(key) ?? { reason: r.reason, station, records: 0, redriven: 0, first: t, last: t }
    row.records++
    if (redriven.has(r.id)) row.redriven++
    row.first = Math.min(row.first, t)
    row.last = Math.max(row.last, t)
    rows.set(key, row)
  }
  const sorted = [...rows.values()].sort(
    (a, b) => a.reason.localeCompare(b.reason) || a.station.localeCompare(b.station),
  )
  return { rows: sorted, torn }
}

/** A copy of `value` with its numeric `measured_at` moved by `shiftMs`, if it has one. */
function shiftMeasuredAt(value: unknown, shiftMs: number): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
  const at = (value as { measured_at?: unknown }).measured_at
  return typeof at === 'number' ? { ...value, measured_at: at + shiftMs } : value
}

/** Adds `shiftMs` to a payload's sample times: `ts`, and the `measured_at` of its meter and connectors. */
function shiftPayload(payload: unknown, shiftMs: number): unknown {
  if (shiftMs === 0 || payload === null || typeof payload !== 'object' || Array.isArray(payload))
    return payload
  const shifted: Record<string, unknown> = { ...(payload as Record<string, unknown>) }
  if (typeof shifted.ts === 'number') shifted.ts += shiftMs
  if ('meter' in shifted) shifted.meter = shiftMeasuredAt(shifted.meter, shiftMs)
  if (Array.isArray(shifted.connectors))
    shifted.connectors = shifted.connectors.map((c: unknown) => shiftMeasuredAt(c, shiftMs))
  return shifted
}

/** A line-protocol line with its trailing timestamp (ms) moved by `shiftMs`. */
function shiftLine(line: string, shiftMs: number): string | undefined {
  const match = /^(.* )(-?\d+)$/.exec(line)
  if (!match) return undefined
  return `${match[1]}${Number(match[2]) + shiftMs}`
}

type Prepared = { lines: string[] } | { reason: string; detail: string }

/**
 * Turns a record back into lines the way ingest would: a message is decoded against the contract
 * again (now, with its times shifted), so what is still wrong stays refused.
 */
function prepare(record: DeadLetterRecord, shiftMs: number, now: number): Prepared {
  if (record.truncated)
    return { reason: 'truncated', detail: 'only the first bytes were kept; it cannot be redriven' }
  if (record.kind === 'line') {
    const line = shiftLine(record.line, shiftMs)
    return line === undefined
      ? { reason: 'line_protocol', detail: 'no timestamp at the end of the line' }
      : { lines: [line] }
  }
  const bytes =
    record.payload !== undefined
      ? Buffer.from(record.payload, 'utf8')
      : Buffer.from(record.payload_base64 ?? '', 'base64')
  let body: Buffer = bytes
  if (shiftMs !== 0) {
    try {
      body = Buffer.from(JSON.stringify(shiftPayload(JSON.parse(bytes.toString('utf8')), shiftMs)))
    } catch {
      // Not JSON: decoding below refuses it with its reason.
    }
  }
  const decoded = decodeMessage(record.topic, body, now)
  if (!decoded.ok) return { reason: decoded.reason, detail: decoded.detail }
  try {
    return { lines: messageToPoints(decoded.message, record.receivedAt + shiftMs).map(toLine) }
  } catch (err) {
    return { reason: 'line_protocol', detail: (err as Error).message }
  }
}

/** Appends redrive marks and fsyncs them, so a crash after this never redrives those records twice. */
async function appendMarks(path: string, marks: RedriveMark[]): Promise<void> {
  if (marks.length === 0) return
  const handle = await open(path, 'a')
  try {
    await handle.write(marks.map((m) => `${JSON.stringify(m)}\n`).join(''))
    await handle.datasync()
  } finally {
    await handle.close()
  }
}

/**
 * Re-submits dead-lettered records to InfluxDB — for instance once a station's clock is fixed, with
 * the times shifted by the error. Records are never removed: each one stored gets a `redriven` mark,
 * appended after its points are written, and marked records are skipped by every later run; a crash
 * between the write and the mark only writes the same points again, which overwrite themselves (same
 * series, same time). Records that are still refused stay unmarked and are reported.
 *
 * Messages go through the contract and the point mapping again, but not through the register guard
 * of a running ingest.
 */
export async function redrive(
  path: string,
  writer: LineWriter,
  options: RedriveOptions,
): Promise<RedriveResult> {
  const { records, redriven } = await readDeadLetterFile(path)
  const matched = records.filter(
    (r) =>
      (options.reason === undefined || r.reason === options.reason) &&
      (options.station === undefined || r.station === options.station),
  )
  const result: RedriveResult = {
    matched: matched.length,
    alreadyRedriven: 0,
    redriven: 0,
    points: 0,
    stillRejected: [],
  }
  const now = Date.now()
  const pending: { record: DeadLetterRecord; lines: string[] }[] = []
  for (const record of matched) {
    if (redriven.has(record.id)) {
      result.alreadyRedriven++
      continue
    }
    const prepared = prepare(record, options.shiftMs, now)
    if ('lines' in prepared) pending.push({ record, lines: prepared.lines })
    else result.stillRejected.push({ id: record.id, station: record.station, ...prepared })
  }

  for (let i = 0; i < pending.length;) {
    // Whole records per batch, so each record's lines are judged together.
    const batch: typeof pending = []
    let size = 0
    while (
      i < pending.length &&
      (batch.length === 0 || size + (pending[i]?.lines.length ?? 0) <= options.batchSize)
    ) {
      const next = pending[i++] as (typeof pending)[number]
      batch.push(next)
      size += next.lines.length
    }
    const outcome = await writeBatch(
      batch.flatMap((p) => p.lines),
      { writer, backoff: options.backoff },
    )
    const refused = new Map(outcome.rejected.map((r) => [r.line, r.detail]))
    result.points += outcome.written
    const marks: RedriveMark[] = []
    for (const { record, lines } of batch) {
      const detail = lines.map((l) => refused.get(l)).find((d) => d !== undefined)
      if (detail !== undefined) {
        result.stillRejected.push({
          id: record.id,
          station: record.station,
          reason: lineRejectReason(detail),
          detail,
        })
        continue
      }
      marks.push({
        kind: 'redriven',
        id: record.id,
        redrivenAt: now,
        shiftMs: options.shiftMs,
        points: lines.length,
      })
    }
    await appendMarks(path, marks)
    result.redriven += marks.length
  }
  return result
}
