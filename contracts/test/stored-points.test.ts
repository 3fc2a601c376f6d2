import { describe, expect, test } from 'vitest'
import {
  decodeMessage,
  messageToPoints,
  pointsToMessages,
  stationTopic,
  type DecodedMessage,
  type Point,
  type TimedMessage,
} from '../src/index.ts'

const SITE = 'beibei'
const STATION = 'zn-super'
const T = 1742869800000

/** A message as the station publishes it; decoded by the contract, so every case is a valid message. */
function decoded(kind: DecodedMessage['kind'], payload: unknown): DecodedMessage {
  const result = decodeMessage(
    stationTopic(SITE, STATION, kind),
    Buffer.from(JSON.stringify(payload)),
    T + 60_000,
  )
  if (!result.ok) throw new Error(`test message is not valid: ${result.detail}`)
  return result.message
}

/** Forward then back; the rebuilt message must decode too, and to the same payload. */
function roundTrip(message: DecodedMessage, receivedAt = T): TimedMessage[] {
  const back = pointsToMessages(SITE, STATION, messageToPoints(message, receivedAt))
  for (const { message: m } of back) {
    const again = decodeMessage(m.topic, Buffer.from(JSON.stringify(m.payload)), T + 60_000)
    expect(again).toMatchObject({ ok: true })
  }
  return back
}

const cases: Array<[string, DecodedMessage['kind'], unknown]> = [
  [
    'telemetry, every field',
    'telemetry',
    {
      v: 1,
      ts: T,
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
        { id: 2, status: 'Available', power_w: 0, energy_wh: 99 },
      ],
    },
  ],
  // An OCPP charger: no meter of its own, connectors with their status only.
  [
    'telemetry, no meter readings',
    'telemetry',
    { v: 1, ts: T, seq: 7, meter: {}, connectors: [{ id: 1, status: 'Faulted' }] },
  ],
  [
    'telemetry, one meter reading',
    'telemetry',
    { v: 1, ts: T, seq: 3, meter: { aux_power_w: 900 }, connectors: [{ id: 3, status: 'Available' }] },
  ],
  ['online', 'online', { online: true, ts: T }],
  ['offline', 'online', { online: false, ts: T }],
  [
    'status with vendor error',
    'status',
    {
      ts: T,
      connector: 2,
      status: 'Faulted',
      error_code: 'GroundFailure',
      vendor_error: 'E42: "ground" fault',
    },
  ],
  ['status, no vendor error', 'status', { ts: T, connector: 1, status: 'Available', error_code: 'NoError' }],
  [
    'session started, nothing optional',
    'session',
    { ts: T, event: 'started', session: 'zn-super-1-000043', connector: 1 },
  ],
  [
    'session stopped, every field',
    'session',
    {
      ts: T,
      event: 'stopped',
      session: 'zn-super-1-000042',
      connector: 1,
      vehicle: 'Zeekr 001 (2025)',
      soc_pct: 80,
      energy_wh: 52_000,
      reason: 'EVDisconnected',
      cost: 61.5,
      currency: 'CNY',
    },
  ],
]

describe('pointsToMessages inverts messageToPoints', () => {
  test.each(cases)('%s: message → points → message is the original', (_name, kind, payload) => {
    const message = decoded(kind, payload)
    expect(roundTrip(message)).toEqual([
      {
        t: T,
        message: {
          topic: stationTopic(SITE, STATION, kind),
          payload,
          retain: kind !== 'telemetry' && kind !== 'session',
        },
      },
    ])
  })

  test('a last will without ts comes back stamped with the time it was received', () => {
    expect(roundTrip(decoded('online', { online: false }), T + 5)).toEqual([
      {
        t: T + 5,
        message: {
          topic: stationTopic(SITE, STATION, 'online'),
          payload: { online: false, ts: T + 5 },
          retain: true,
        },
      },
    ])
  })

  test('a sample without connectors stores no seq: it comes back as 0', () => {
    const [back] = roundTrip(
      decoded('telemetry', { v: 1, ts: T, seq: 9, meter: { grid_power_w: 10 }, connectors: [] }),
    )
    expect(back?.message.payload).toEqual({
      v: 1,
      ts: T,
      seq: 0,
      meter: { grid_power_w: 10 },
      connectors: [],
    })
  })

  test('a station stream comes back in time order, whatever order the points are read in', () => {
    const stream = [
      decoded('online', { online: true, ts: T }),
      decoded('session', { ts: T + 1_000, event: 'started', session: 's-1', connector: 1 }),
      decoded('status', { ts: T + 1_000, connector: 1, status: 'Charging', error_code: 'NoError' }),
      decoded('telemetry', {
        v: 1,
        ts: T + 1_000,
        seq: 1,
        meter: { grid_power_w: 5 },
        connectors: [
          { id: 2, status: 'Available' },
          { id: 1, status: 'Charging', power_w: 5 },
        ],
      }),
      decoded('telemetry', {
        v: 1,
        ts: T + 2_000,
        seq: 2,
        meter: { grid_power_w: 6 },
        connectors: [{ id: 1, status: 'Charging', power_w: 6 }],
      }),
    ]
    const points: Point[] = stream.flatMap((m) => messageToPoints(m, T)).reverse()
    const back = pointsToMessages(SITE, STATION, points)
    // At one time: online, status, session, then telemetry; connectors by id.
    expect(back.map(({ t, message }) => [t, message.topic.split('/').pop()])).toEqual([
      [T, 'online'],
      [T + 1_000, 'status'],
      [T + 1_000, 'session'],
      [T + 1_000, 'telemetry'],
      [T + 2_000, 'telemetry'],
    ])
    expect(back[3]?.message.payload).toMatchObject({ seq: 1, connectors: [{ id: 1, power_w: 5 }, { id: 2 }] })
  })

  test("held readings come back at their own time, merged into that time's sample as InfluxDB merges them", () => {
    const first = decoded('telemetry', {
      v: 1,
      ts: T,
      seq: 1,
      meter: {},
      connectors: [{ id: 1, status: 'Charging' }],
    })
    const held = decoded('telemetry', {
      v: 1,
      ts: T + 1_000,
      seq: 2,
      meter: {},
      connectors: [{ id: 1, status: 'Charging', power_w: 7_000, measured_at: T }],
    })
    const back = pointsToMessages(SITE, STATION, [...messageToPoints(first, T), ...messageToPoints(held, T)])
    expect(back.map((m) => m.message.payload)).toEqual([
      { v: 1, ts: T, seq: 1, meter: {}, connectors: [{ id: 1, status: 'Charging', power_w: 7_000 }] },
      { v: 1, ts: T + 1_000, seq: 2, meter: {}, connectors: [{ id: 1, status: 'Charging' }] },
    ])
  })
})
