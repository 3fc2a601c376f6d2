import type { DecodedMessage, SessionEvent } from '@evmon/contracts'
import { expect, test } from 'vitest'
import { SessionTracker } from '../src/sessions.ts'
import { telemetry } from './helpers.ts'

const at = { site: 'beibei', station: 'zn-super' }
const event = (payload: SessionEvent): DecodedMessage => ({ kind: 'session', ...at, payload })
const sample = (ts: number, power: number, energy: number, soc: number): DecodedMessage => {
  const t = telemetry(ts, ts)
  t.connectors[0] = { ...t.connectors[0]!, power_w: power, energy_wh: energy, soc_pct: soc, session: 'zn-1' }
  return { kind: 'telemetry', ...at, payload: t }
}
const tags = { ...at, connector: '1' }

test('a session yields one point at its start time, completed by the stop with telemetry peaks', () => {
  const tracker = new SessionTracker()
  expect(
    tracker.observe(
      event({ ts: 1_000, event: 'started', session: 'zn-1', connector: 1, vehicle: 'EV', soc_pct: 20 }),
    ),
  ).toEqual([
    {
      measurement: 'session',
      tags,
      fields: { session: 'zn-1', started_at: 1_000, soc_start: 20, vehicle: 'EV' },
      time: 1_000,
    },
  ])
  tracker.observe(sample(2_000, 300_000, 5_000, 25))
  tracker.observe(sample(3_000, 450_000, 6_000, 40))
  tracker.observe(sample(4_000, 200_000, 7_000, 55))
  expect(tracker.activeCount).toBe(1)
  const [stop] = tracker.observe(
    event({ ts: 61_000, event: 'stopped', session: 'zn-1', connector: 1, reason: 'EVDisconnected' }),
  )
  expect(stop).toEqual({
    measurement: 'session',
    tags,
    fields: {
      session: 'zn-1',
      started_at: 1_000,
      duration_s: 60,
      // Register delta, as the stop carried no energy_wh; SoC end from the last sample.
      energy_wh: 2_000,
      soc_start: 20,
      soc_end: 55,
      peak_power_w: 450_000,
      vehicle: 'EV',
      reason: 'EVDisconnected',
    },
    time: 1_000,
  })
  expect(tracker.activeCount).toBe(0)
})

test('a redelivered stop writes the same point again, even after a restart from the saved state', () => {
  const tracker = new SessionTracker()
  tracker.observe(event({ ts: 1_000, event: 'started', session: 'zn-1', connector: 1 }))
  const stopEvent = event({ ts: 9_000, event: 'stopped', session: 'zn-1', connector: 1, energy_wh: 12_345 })
  const first = tracker.observe(stopEvent)
  const restarted = new SessionTracker(JSON.parse(JSON.stringify(tracker.snapshot())))
  expect(restarted.observe(stopEvent)).toEqual(first)
  expect(tracker.observe(stopEvent)).toEqual(first)
})

test('a session started before a restart is completed from the saved state', () => {
  const tracker = new SessionTracker()
  tracker.observe(event({ ts: 1_000, event: 'started', session: 'zn-1', connector: 1, soc_pct: 10 }))
  tracker.observe(sample(2_000, 100_000, 1_000, 12))
  expect(tracker.dirty).toBe(true)
  const restarted = new SessionTracker(JSON.parse(JSON.stringify(tracker.snapshot())))
  expect(tracker.dirty).toBe(false)
  const [stop] = restarted.observe(event({ ts: 11_000, event: 'stopped', session: 'zn-1', connector: 1 }))
  expect(stop).toMatchObject({
    time: 1_000,
    fields: { duration_s: 10, soc_start: 10, peak_power_w: 100_000 },
  })
})

test('a stop without a known start is written at the stop time without a duration', () => {
  const [stop] = new SessionTracker().observe(
    event({ ts: 5_000, event: 'stopped', session: 'zn-9', connector: 1, energy_wh: 10, soc_pct: 80 }),
  )
  expect(stop).toEqual({
    measurement: 'session',
    tags,
    fields: { session: 'zn-9', energy_wh: 10, soc_end: 80 },
    time: 5_000,
  })
})
