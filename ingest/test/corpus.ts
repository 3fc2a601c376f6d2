import type { IngestRejectReason } from '../src/index.ts'
import { telemetry } from './helpers.ts'

/** One kind of malformed message and the reason ingest must give for refusing it. */
export interface MalformedCase {
  name: string
  reason: IngestRejectReason
  topic: string
  payload: string | Buffer
}

const HOUR_MS = 3_600_000
const T = (station = 'zn-super', kind = 'telemetry') => `evmon/v1/beibei/${station}/${kind}`

/**
 * At least 50 kinds of malformed station messages, each with the reason it must be refused for. `now`
 * anchors the timestamps; `corpusBaseline` is the valid sample to send first.
 */
export function malformedCorpus(now: number): MalformedCase[] {
  const base = now - HOUR_MS / 2
  const good = (i: number) => telemetry(base + i, 10_000 + i)
  const json = (v: unknown) => JSON.stringify(v)
  const withMeter = (i: number, meter: Record<string, unknown>) =>
    json({ ...good(i), meter: { ...good(i).meter, ...meter } })
  const withConnector = (i: number, patch: Record<string, unknown>) =>
    json({ ...good(i), connectors: [{ ...good(i).connectors[0], ...patch }] })
  const status = (patch: Record<string, unknown>) =>
    json({ ts: base, connector: 1, status: 'Faulted', error_code: 'NoError', ...patch })
  const session = (patch: Record<string, unknown>) =>
    json({ ts: base, event: 'started', session: 's-1', connector: 1, ...patch })
  const cases: [string, IngestRejectReason, string, string | Buffer][] = [
    // Topics that are not a station topic of contract v1.
    ['upper-case site id', 'topic', 'evmon/v1/Beibei/zn-super/telemetry', json(good(1))],
    ['space in station id', 'topic', 'evmon/v1/beibei/zn super/telemetry', json(good(2))],
    ['unknown message kind', 'topic', 'evmon/v1/beibei/zn-super/firmware', '{}'],
    ['extra topic level', 'topic', 'evmon/v1/beibei/zn-super/telemetry/x', json(good(3))],
    ['missing topic level', 'topic', 'evmon/v1/beibei/telemetry', json(good(4))],
    ['message kind in upper case', 'topic', 'evmon/v1/beibei/zn-super/Telemetry', json(good(5))],
    ['site id of 65 characters', 'topic', `evmon/v1/${'a'.repeat(65)}/zn-super/telemetry`, json(good(6))],
    ['station id starting with a dash', 'topic', 'evmon/v1/beibei/-zn/telemetry', json(good(7))],
    ['empty station id', 'topic', 'evmon/v1/beibei//telemetry', json(good(8))],
    ['non-ASCII station id', 'topic', 'evmon/v1/beibei/北碚/telemetry', json(good(9))],
    // Bytes that are not one JSON document.
    ['truncated JSON', 'json', T(), '{"v":1,"ts":'],
    ['binary garbage', 'json', T(), Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    ['empty payload', 'json', T(), ''],
    ['NaN literal', 'json', T(), json(good(10)).replace('"grid_power_w":', '"grid_power_w":NaN,"x":')],
    ['Infinity literal', 'json', T(), json(good(11)).replace(/"power_w":\d+/, '"power_w":Infinity')],
    ['trailing garbage', 'json', T(), `${json(good(12))}}`],
    ['two documents', 'json', T(), `${json(good(13))}\n${json(good(14))}`],
    ['single quotes', 'json', T(), "{'v':1}"],
    // JSON that breaks the schema.
    ['JSON array', 'schema', T(), '[]'],
    ['JSON null', 'schema', T(), 'null'],
    ['JSON number', 'schema', T(), '42'],
    ['missing meter', 'schema', T(), json({ ...good(15), meter: undefined })],
    ['wrong contract version field', 'schema', T(), json({ ...good(16), v: 2 })],
    ['ts as a string', 'schema', T(), json({ ...good(17), ts: String(base) })],
    ['fractional ts', 'schema', T(), json({ ...good(18), ts: base + 0.5 })],
    ['negative seq', 'schema', T(), json({ ...good(19), seq: -1 })],
    ['unknown top-level field', 'schema', T(), json({ ...good(20), firmware: '1.2' })],
    ['unknown meter field', 'schema', T(), withMeter(21, { frequency_hz: 50 })],
    ['negative grid power', 'schema', T(), withMeter(22, { grid_power_w: -1 })],
    ['negative grid energy register', 'schema', T(), withMeter(23, { grid_energy_wh: -5 })],
    ['grid power as a string', 'schema', T(), withMeter(24, { grid_power_w: '471200' })],
    ['grid power null', 'schema', T(), withMeter(25, { grid_power_w: null })],
    ['cabinet temperature out of range', 'schema', T(), withMeter(26, { cabinet_temp_c: 1_000 })],
    ['connectors not an array', 'schema', T(), json({ ...good(27), connectors: {} })],
    [
      '65 connectors',
      'schema',
      T(),
      json({
        ...good(28),
        connectors: Array.from({ length: 65 }, (_, i) => ({ ...good(28).connectors[1], id: i + 1 })),
      }),
    ],
    ['connector id 0', 'schema', T(), withConnector(29, { id: 0 })],
    ['connector id 256', 'schema', T(), withConnector(30, { id: 256 })],
    ['connector id as a string', 'schema', T(), withConnector(31, { id: '1' })],
    ['unknown connector status', 'schema', T(), withConnector(32, { status: 'Exploded' })],
    ['lower-case status', 'schema', T(), withConnector(33, { status: 'charging' })],
    ['negative connector energy register', 'schema', T(), withConnector(34, { energy_wh: -1 })],
    ['SoC above 100 %', 'schema', T(), withConnector(35, { soc_pct: 100.5 })],
    ['power above 2 MW', 'schema', T(), withConnector(36, { power_w: 2_000_001 })],
    ['unknown connector field', 'schema', T(), withConnector(37, { phase: 3 })],
    ['session id with a space', 'schema', T(), withConnector(38, { session: 'a b' })],
    ['session id of 129 characters', 'schema', T(), withConnector(39, { session: 's'.repeat(129) })],
    ['session id with a newline', 'schema', T(), withConnector(40, { session: 'a\nb' })],
    [
      'status event with unknown error code',
      'schema',
      T('zn-super', 'status'),
      status({ error_code: 'Boom' }),
    ],
    ['status event without connector', 'schema', T('zn-super', 'status'), status({ connector: undefined })],
    [
      'status event with 257-character vendor error',
      'schema',
      T('zn-super', 'status'),
      status({ vendor_error: 'x'.repeat(257) }),
    ],
    ['session event of unknown kind', 'schema', T('zn-super', 'session'), session({ event: 'paused' })],
    ['session event without session id', 'schema', T('zn-super', 'session'), session({ session: undefined })],
    ['online as a string', 'schema', T('zn-super', 'online'), json({ online: 'yes' })],
    // A station may describe no connector yet (an OCPP charger names them later), but not a connector 0.
    [
      'meta with connector 0',
      'schema',
      T('zn-super', 'meta'),
      json({ v: 1, name: 'x', cooling: 'air', cabinet_max_power_w: 1, connectors: [{ id: 0 }] }),
    ],
    // Checks beyond the schema.
    ['payload above 64 KiB', 'too_large', T(), json({ ...good(41), pad: 'x'.repeat(70_000) })],
    ['ts an hour in the future', 'ts_future', T(), json(telemetry(now + HOUR_MS, 10_050))],
    ['ts 40 days in the past', 'ts_past', T(), json(telemetry(now - 40 * 24 * HOUR_MS, 10_051))],
    ['status event ts in the future', 'ts_future', T('zn-super', 'status'), status({ ts: now + HOUR_MS })],
    [
      'duplicate connector ids',
      'duplicate_connector',
      T(),
      json({ ...good(42), connectors: [good(42).connectors[0], good(42).connectors[0]] }),
    ],
    ['grid energy register backwards', 'energy_backwards', T(), withMeter(43, { grid_energy_wh: 999_000 })],
    ['connector energy register backwards', 'energy_backwards', T(), withConnector(44, { energy_wh: 10 })],
  ]
  return cases.map(([name, reason, topic, payload]) => ({ name, reason, topic, payload }))
}

/**
 * The valid sample the corpus' registers are judged against (registers at 1,000,000 Wh, seq 0), one
 * second before the corpus' samples, well within the register guard's reset gap.
 */
export function corpusBaseline(now: number) {
  return { topic: T(), payload: JSON.stringify(telemetry(now - HOUR_MS / 2 - 1_000, 0)) }
}
