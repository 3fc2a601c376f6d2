import { describe, expect, test } from 'vitest'
import {
  escapeKey,
  escapeMeasurement,
  LineProtocolError,
  messageToPoints,
  quoteFieldString,
  toLine,
  type DecodedMessage,
  type Point,
  type Telemetry,
} from '../src/index.ts'

describe('escaping', () => {
  test('measurement names escape commas and spaces but keep = and quotes', () => {
    expect(escapeMeasurement('a b,c=d"e')).toBe('a\\ b\\,c=d"e')
  })

  test('tag keys and values escape commas, equals signs and spaces', () => {
    expect(escapeKey('a b,c=d')).toBe('a\\ b\\,c\\=d')
  })

  test('tag values keep unicode and inner backslashes as they are', () => {
    expect(escapeKey('北碚\\超充')).toBe('北碚\\超充')
  })

  test('tags with newlines, control characters or a trailing backslash are refused', () => {
    expect(() => escapeKey('a\nb')).toThrow(LineProtocolError)
    expect(() => escapeKey('a\u0000')).toThrow(LineProtocolError)
    expect(() => escapeKey('ends\\')).toThrow(LineProtocolError)
    expect(() => escapeMeasurement('')).toThrow(LineProtocolError)
  })

  test('string fields escape quotes and backslashes and are quoted', () => {
    expect(quoteFieldString('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"')
  })

  test('string fields keep commas, spaces, = and unicode unescaped', () => {
    expect(quoteFieldString('a, b=c 液冷 ⚡')).toBe('"a, b=c 液冷 ⚡"')
  })

  test('newlines in string fields never split a line', () => {
    const quoted = quoteFieldString('line1\nline2\r')
    expect(quoted).not.toMatch(/[\n\r]/)
    expect(quoted).toBe('"line1\\\\nline2\\\\r"')
  })
})

describe('toLine', () => {
  test('serialises tags sorted, floats plain, integers with i, strings quoted, ms time', () => {
    const line = toLine({
      measurement: 'connector',
      tags: { station: 'zn-super', site: 'beibei', connector: '1' },
      fields: { power_w: 452300.5, seq: { int: 7 }, status: 'Charging', ok: true },
      time: 1742869800000,
    })
    expect(line).toBe(
      'connector,connector=1,site=beibei,station=zn-super power_w=452300.5,seq=7i,status="Charging",ok=true 1742869800000',
    )
  })

  test('refuses NaN, Infinity, unsafe integers and points without fields', () => {
    const base = { measurement: 'm', tags: {}, time: 1 }
    expect(() => toLine({ ...base, fields: { x: Number.NaN } })).toThrow(/not finite/)
    expect(() => toLine({ ...base, fields: { x: Number.POSITIVE_INFINITY } })).toThrow(/not finite/)
    expect(() => toLine({ ...base, fields: { x: { int: 2 ** 60 } } })).toThrow(/safe integer/)
    expect(() => toLine({ ...base, fields: {} })).toThrow(/no fields/)
  })
})

describe('messageToPoints', () => {
  const telemetry: Telemetry = {
    v: 1,
    ts: 1742869800000,
    seq: 42,
    meter: { grid_power_w: 471200, grid_energy_wh: 123456789, aux_power_w: 2100, cabinet_temp_c: 41.2 },
    connectors: [
      {
        id: 1,
        status: 'Charging',
        power_w: 452300,
        offered_w: 480000,
        voltage_v: 768.2,
        current_a: 588.8,
        energy_wh: 1234567,
        soc_pct: 43.1,
        temp_c: 62,
        coolant_c: 38.4,
        session: 'zn-super-1-000042',
      },
      {
        id: 2,
        status: 'Available',
        power_w: 0,
        offered_w: 160000,
        voltage_v: 0,
        current_a: 0,
        energy_wh: 99,
      },
    ],
  }
  const message: DecodedMessage = {
    kind: 'telemetry',
    site: 'beibei',
    station: 'zn-super',
    payload: telemetry,
  }

  test('telemetry becomes one station point and one point per connector at the payload time', () => {
    const points = messageToPoints(message, 0)
    expect(points.map((p) => p.measurement)).toEqual(['station', 'connector', 'connector'])
    expect(points.every((p) => p.time === telemetry.ts)).toBe(true)
    expect(points[1]?.tags).toEqual({ site: 'beibei', station: 'zn-super', connector: '1' })
    expect(points[1]?.fields.session).toBe('zn-super-1-000042')
    expect(points[1]?.fields.seq).toEqual({ int: 42 })
  })

  test('session ids stay out of tags, and absent optional values are not written', () => {
    const points = messageToPoints(message, 0)
    for (const p of points) expect(Object.values(p.tags)).not.toContain('zn-super-1-000042')
    expect(Object.keys(points[2]?.fields ?? {})).not.toContain('soc_pct')
  })

  test('readings a station does not report are no fields, never zeros; no meter, no station point', () => {
    const ocpp: DecodedMessage = {
      ...message,
      payload: { v: 1, ts: 1742869800000, seq: 3, meter: {}, connectors: [{ id: 1, status: 'Preparing' }] },
    }
    const points = messageToPoints(ocpp, 0)
    expect(points).toEqual([
      {
        measurement: 'connector',
        tags: { site: 'beibei', station: 'zn-super', connector: '1' },
        fields: { status: 'Preparing', occupied: 1, in_service: 1, seq: { int: 3 } },
        time: 1742869800000,
      },
    ])
  })

  test('held readings are stored at the time they were measured, the status at the sample time', () => {
    const measuredAt = 1742869800000 - 40_000
    const held: DecodedMessage = {
      ...message,
      payload: {
        v: 1,
        ts: 1742869800000,
        seq: 4,
        meter: {},
        connectors: [{ id: 1, status: 'Charging', power_w: 7000, energy_wh: 2500, measured_at: measuredAt }],
      },
    }
    const points = messageToPoints(held, 0)
    expect(points.map((p) => [p.time, Object.keys(p.fields).sort()])).toEqual([
      [1742869800000, ['in_service', 'occupied', 'seq', 'status']],
      [measuredAt, ['energy_wh', 'power_w']],
    ])
    // Measured at the sample's own time, they are one point as from any station.
    const fresh = {
      ...held,
      payload: {
        ...held.payload,
        connectors: [{ id: 1, status: 'Charging' as const, power_w: 7000, measured_at: 1742869800000 }],
      },
    } as DecodedMessage
    expect(messageToPoints(fresh, 0).map((p) => p.fields.power_w)).toEqual([7000])
  })

  test("the meter's held readings are stored at the time they were taken", () => {
    const held: DecodedMessage = {
      ...message,
      payload: {
        v: 1,
        ts: 1742869800000,
        seq: 5,
        meter: { grid_energy_wh: 77, measured_at: 1742869790000 },
        connectors: [],
      },
    }
    expect(messageToPoints(held, 0)).toEqual([
      {
        measurement: 'station',
        tags: { site: 'beibei', station: 'zn-super' },
        fields: { grid_energy_wh: 77 },
        time: 1742869790000,
      },
    ])
  })

  test('a last will without a timestamp is stamped with the receive time', () => {
    const will: DecodedMessage = {
      kind: 'online',
      site: 'beibei',
      station: 'kc-ac',
      payload: { online: false },
    }
    expect(messageToPoints(will, 1234)).toEqual([
      {
        measurement: 'station',
        tags: { site: 'beibei', station: 'kc-ac' },
        fields: { online: 0 },
        time: 1234,
      },
    ])
  })

  test("a session's stop is an event point carrying its energy and what it cost", () => {
    const stopped: DecodedMessage = {
      kind: 'session',
      site: 'beibei',
      station: 'zn-super',
      payload: {
        ts: 5000,
        event: 'stopped',
        session: 'zn-super-1-000042',
        connector: 1,
        energy_wh: 66500,
        reason: 'SOCLimitReached',
        cost: 99.72,
        currency: 'CNY',
      },
    }
    const [point] = messageToPoints(stopped, 0)
    expect(point?.tags).toEqual({
      site: 'beibei',
      station: 'zn-super',
      connector: '1',
      type: 'session_stopped',
    })
    expect(point?.fields).toMatchObject({ energy_wh: 66500, cost: 99.72, currency: 'CNY' })
    expect(toLine(point as Point)).toContain('cost=99.72,currency="CNY"')
  })

  test('meta is state, not a time series', () => {
    const meta: DecodedMessage = {
      kind: 'meta',
      site: 'beibei',
      station: 'kc-ac',
      payload: {
        v: 1,
        name: 'AC',
        cooling: 'air',
        cabinet_max_power_w: 28000,
        connectors: [
          {
            id: 1,
            kind: 'ac',
            standard: 'GB/T 20234.2',
            max_power_w: 7000,
            max_current_a: 32,
            min_voltage_v: 220,
            max_voltage_v: 220,
          },
        ],
      },
    }
    expect(messageToPoints(meta, 0)).toEqual([])
  })
})
