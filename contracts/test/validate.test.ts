import { describe, expect, test } from 'vitest'
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

describe('what an OCPP charger can and cannot report', () => {
  // Through the gateway: a status, the energy register and power, no grid meter, no offered power.
  const ocppSample = {
    v: 1,
    ts: now,
    seq: 7,
    meter: {},
    connectors: [{ id: 1, status: 'Charging', power_w: 7200, energy_wh: 1500, measured_at: now - 30_000 }],
  }

  test('a sample without grid meter, aux power, offered power, voltage or current is valid', () => {
    expect(decode(ocppSample).ok).toBe(true)
  })

  test('a connector with only its status is valid: nothing measured yet', () => {
    expect(decode({ ...ocppSample, connectors: [{ id: 1, status: 'Available' }] }).ok).toBe(true)
  })

  test('a description without ratings, cooling or connectors is valid, with the charger it is', () => {
    const meta = {
      v: 1,
      name: 'CS-ABB-00001',
      connectors: [],
      ocpp: { identity: 'CS-ABB-00001', protocol: 'ocpp1.6', vendor: 'ABB', model: 'Terra 184' },
    }
    expect(decode(meta, 'evmon/v1/beibei/cs-abb-00001/meta').ok).toBe(true)
  })

  test.each([
    ['an identity with a slash', { identity: 'CS/1', protocol: 'ocpp1.6' }],
    ['an identity longer than 48 characters', { identity: 'x'.repeat(49), protocol: 'ocpp1.6' }],
    ['an unknown protocol', { identity: 'CS-1', protocol: 'ocpp1.5' }],
  ])('a description with %s is rejected', (_what, ocpp) => {
    const meta = { v: 1, name: 'x', connectors: [], ocpp }
    expect(decode(meta, 'evmon/v1/beibei/cs-1/meta')).toMatchObject({ ok: false, reason: 'schema' })
  })

  test("the meter's held readings get the same checks", () => {
    const held = (measured_at: number) => decode({ ...ocppSample, meter: { grid_energy_wh: 5, measured_at } })
    expect(held(now - 5_000).ok).toBe(true)
    expect(held(now + 1)).toMatchObject({ ok: false, reason: 'ts_future' })
  })

  test.each([
    ['after the sample', now + 1, 'ts_future'],
    ['older than raw retention', now - 31 * 86_400_000, 'ts_past'],
  ])('a measured_at %s is rejected as %s', (_what, measuredAt, reason) => {
    const connectors = [{ ...ocppSample.connectors[0], measured_at: measuredAt }]
    const result = decode({ ...ocppSample, connectors })
    expect(result).toMatchObject({ ok: false, reason })
    if (!result.ok) expect(result.detail).toContain('measured_at')
  })
})
