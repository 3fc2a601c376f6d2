import { expect, test } from 'vitest'
import { decodeMessage, DEFAULT_DECODE_LIMITS } from '../src/index.ts'

const now = 1_742_869_800_000
const topic = 'evmon/v1/beibei/zn-super/telemetry'
const valid = {
  v: 1,
  ts: now,
  seq: 1,
  meter: { grid_power_w: 1000, grid_energy_wh: 10, aux_power_w: 100 },
  connectors: [
    {
      id: 1,
      status: 'Charging',
      power_w: 900,
      offered_w: 1000,
      voltage_v: 400,
      current_a: 2.25,
      energy_wh: 5,
    },
  ],
}
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
const decode = (payload: unknown, t = topic) => decodeMessage(t, bytes(payload), now)

test('a valid telemetry message decodes with its site and station from the topic', () => {
  const result = decode(valid)
  expect(result.ok).toBe(true)
  if (result.ok)
    expect(result.message).toMatchObject({ kind: 'telemetry', site: 'beibei', station: 'zn-super' })
})

test.each([
  ['invalid JSON', '{"v":1,', 'json'],
  ['a string instead of a number', { ...valid, seq: 'one' }, 'schema'],
  ['an unknown field', { ...valid, extra: 1 }, 'schema'],
  ['a negative power', { ...valid, connectors: [{ ...valid.connectors[0], power_w: -1 }] }, 'schema'],
  ['an unknown status', { ...valid, connectors: [{ ...valid.connectors[0], status: 'Sleeping' }] }, 'schema'],
  ['a fractional timestamp', { ...valid, ts: now + 0.5 }, 'schema'],
  ['the wrong contract version', { ...valid, v: 2 }, 'schema'],
  [
    'repeated connector ids',
    { ...valid, connectors: [valid.connectors[0], valid.connectors[0]] },
    'duplicate_connector',
  ],
  ['a timestamp an hour ahead', { ...valid, ts: now + 3_600_000 }, 'ts_future'],
  ['a timestamp a year old', { ...valid, ts: now - 365 * 86_400_000 }, 'ts_past'],
  ['a JSON array', [valid], 'schema'],
  ['JSON null', 'null', 'schema'],
])('%s is rejected as %s', (_what, payload, reason) => {
  const result = decode(payload)
  expect(result).toMatchObject({ ok: false, reason })
  if (!result.ok) expect(result.detail.length).toBeGreaterThan(0)
})

test('a payload over the size limit is rejected before parsing', () => {
  const big = Buffer.alloc(DEFAULT_DECODE_LIMITS.maxPayloadBytes + 1, 0x20)
  expect(decodeMessage(topic, big, now)).toMatchObject({ ok: false, reason: 'too_large' })
})

test('a payload that is valid for another kind is rejected on this topic', () => {
  const status = { ts: now, connector: 1, status: 'Faulted', error_code: 'GroundFailure' }
  expect(decode(status)).toMatchObject({ ok: false, reason: 'schema' })
  expect(decode(status, 'evmon/v1/beibei/zn-super/status').ok).toBe(true)
})

test('a bad topic is rejected whatever the payload', () => {
  expect(decode(valid, 'evmon/v1/beibei/ZN/telemetry')).toMatchObject({ ok: false, reason: 'topic' })
})

test('a last will without a timestamp is a valid online message', () => {
  expect(decode({ online: false }, 'evmon/v1/beibei/zn-super/online').ok).toBe(true)
})
