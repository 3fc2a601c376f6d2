import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { SCHEMA_BY_KIND, type PayloadByKind } from './schemas.ts'
import { parseStationTopic, type MessageKind } from './topics.ts'

/** Why a message was rejected; each reason has its own counter in the services. */
export type RejectReason =
  | 'topic'
  | 'too_large'
  | 'json'
  | 'schema'
  | 'duplicate_connector'
  | 'ts_future'
  | 'ts_past'
  | 'energy_backwards'

export interface DecodeLimits {
  /** Payloads above this are rejected before parsing. */
  maxPayloadBytes: number
  /** A timestamp further ahead of the receiver's clock than this is rejected. */
  maxFutureMs: number
  /** A timestamp older than this is rejected (it would fall outside raw retention). */
  maxPastMs: number
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxPayloadBytes: 64 * 1024, // same as the broker's default payload limit
  maxFutureMs: 5 * 60_000, // five minutes of clock skew between a station and us
  maxPastMs: 30 * 24 * 3_600_000, // raw retention: older points would be dropped anyway
}

export type DecodedMessage = {
  [K in MessageKind]: { kind: K; site: string; station: string; payload: PayloadByKind[K] }
}[MessageKind]

export type DecodeResult =
  { ok: true; message: DecodedMessage } | { ok: false; reason: RejectReason; detail: string }

const checkers = Object.fromEntries(
  Object.entries(SCHEMA_BY_KIND).map(([kind, schema]) => [kind, TypeCompiler.Compile(schema)]),
) as { [K in MessageKind]: TypeCheck<(typeof SCHEMA_BY_KIND)[K]> }

const reject = (reason: RejectReason, detail: string): DecodeResult => ({ ok: false, reason, detail })

/** Why a held reading's `measured_at` is refused: after its sample, or beyond raw retention. */
function heldTimeRefusal(
  what: string,
  at: number,
  sampleTs: number,
  nowMs: number,
  limits: DecodeLimits,
): DecodeResult | undefined {
  if (at > sampleTs) return reject('ts_future', `${what} measured_at ${at} is after the sample's ts`)
  if (at < nowMs - limits.maxPastMs)
    return reject('ts_past', `${what} measured_at ${at} is ${nowMs - at} ms in the past`)
  return undefined
}

/**
 * Decodes one MQTT message against the contract: topic, size, JSON, schema, then the checks a schema
 * cannot express (timestamps relative to `nowMs`, connector ids unique within a message).
 * Never throws: every failure comes back as a reason and a human-readable detail.
 */
export function decodeMessage(
  topic: string,
  payload: Uint8Array,
  nowMs: number,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): DecodeResult {
  const parsedTopic = parseStationTopic(topic)
  if (!parsedTopic.ok) return reject('topic', parsedTopic.reason)
  if (payload.byteLength > limits.maxPayloadBytes) {
    return reject('too_large', `payload is ${payload.byteLength} bytes, limit ${limits.maxPayloadBytes}`)
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'))
  } catch (err) {
    return reject('json', (err as Error).message)
  }
  const { site, station, kind } = parsedTopic.topic
  const checker = checkers[kind]
  if (!checker.Check(body)) {
    const first = checker.Errors(body).First()
    return reject('schema', first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema')
  }
  const message = { kind, site, station, payload: body } as DecodedMessage
  const ts = 'ts' in message.payload ? message.payload.ts : undefined
  if (ts !== undefined) {
    if (ts > nowMs + limits.maxFutureMs)
      return reject('ts_future', `ts ${ts} is ${ts - nowMs} ms in the future`)
    if (ts < nowMs - limits.maxPastMs) return reject('ts_past', `ts ${ts} is ${nowMs - ts} ms in the past`)
  }
  if (message.kind === 'telemetry' || message.kind === 'meta') {
    const ids = message.payload.connectors.map((c) => c.id)
    if (new Set(ids).size !== ids.length) return reject('duplicate_connector', 'connector ids repeat')
  }
  if (message.kind === 'telemetry') {
    // Held readings are stored at their own time, so that time gets the checks `ts` gets. A loop
    // without allocations: this runs for every message ingest receives.
    const { ts: sampleTs, meter, connectors } = message.payload
    if (meter.measured_at !== undefined) {
      const refused = heldTimeRefusal('meter', meter.measured_at, sampleTs, nowMs, limits)
      if (refused) return refused
    }
    for (const c of connectors) {
      if (c.measured_at === undefined) continue
      const refused = heldTimeRefusal(`connector ${c.id}`, c.measured_at, sampleTs, nowMs, limits)
      if (refused) return refused
    }
  }

  return { ok: true, message }
}
