import { REGISTER_ROUNDING_WH, type Alert } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import { connectorSample, decoded, telemetry } from '../fixtures.ts'
import { AlertEngine, alertRules } from '../../src/alerts/alert-engine.ts'
import { decodeAlertState, encodeAlertState } from '../../src/alerts/alert-state.ts'

const SITE = 'state-site'
const T0 = Date.UTC(2026, 10, 27, 3, 0, 0)

/** An engine as it would be loaded from the text the other one saved. */
function restart(engine: AlertEngine): AlertEngine {
  const result = decodeAlertState(encodeAlertState(engine.state()))
  if (!result.ok) throw new Error(`saved state refused: ${result.problem}`)
  return new AlertEngine(result.state)
}

const online = (station: string, isOnline: boolean, at: number) =>
  decoded(SITE, station, 'online', { online: isOnline, ts: at }, at)
const status = (station: string, faulted: boolean, at: number) =>
  decoded(
    SITE,
    station,
    'status',
    {
      ts: at,
      connector: 1,
      status: faulted ? 'Faulted' : 'Available',
      error_code: faulted ? 'GroundFailure' : 'NoError',
    },
    at,
  )
const energy = (station: string, wh: number, at: number) =>
  decoded(SITE, station, 'telemetry', telemetry(at, 1, [connectorSample(1, 0, { energy_wh: wh })]), at)

/** Offline st-1 (acknowledged, open), a fault on st-2 that cleared, and a meter reading of st-3. */
function engineWithHistory(): AlertEngine {
  const engine = new AlertEngine()
  engine.observe(online('st-1', false, T0), T0)
  engine.observe(status('st-2', true, T0 + 1_000), T0 + 1_000)
  engine.observe(status('st-2', false, T0 + 2_000), T0 + 2_000)
  engine.observe(energy('st-3', 1_000_000, T0 + 3_000), T0 + 3_000)
  const offline = engine.list({ station: 'st-1' })[0] as Alert
  engine.acknowledge(offline.id, 'operator', T0 + 4_000)
  return engine
}

describe('alert state across a restart', () => {
  test('the restored engine lists the same alerts: open ones open, acknowledgements kept', () => {
    const before = engineWithHistory()
    const after = restart(before)
    expect(after.list()).toEqual(before.list())
    expect(after.list({ active: true })).toEqual([
      expect.objectContaining({
        type: 'station_offline',
        station: 'st-1',
        ended_at: null,
        acknowledged_at: T0 + 4_000,
        acknowledged_by: 'operator',
      }),
    ])
    expect(after.list({ active: false })).toEqual([
      expect.objectContaining({ type: 'connector_faulted', station: 'st-2', ended_at: T0 + 2_000 }),
    ])
  })

  test('ids continue after the restored ones, without collision', () => {
    const before = engineWithHistory()
    const after = restart(before)
    const known = new Set(before.list().map((a) => a.id))
    // At the first alert's time: ids hold the start, so only the counter tells these apart from it.
    after.observe(status('st-2', true, T0), T0)
    after.observe(online('st-4', false, T0), T0)
    const fresh = after.list().filter((a) => !known.has(a.id))
    expect(fresh.map((a) => a.type).sort()).toEqual(['connector_faulted', 'station_offline'])
    expect(new Set(after.list().map((a) => a.id)).size).toBe(after.list().length)
    expect(after.get(fresh[0]?.id as string)).toBe(fresh[0])
  })

  test('a restored open alert ends when its condition clears, and listeners hear it', () => {
    const after = restart(engineWithHistory())
    const heard: Alert[] = []
    after.subscribe((a) => heard.push({ ...a }))
    after.observe(online('st-1', true, T0 + 9_000), T0 + 9_000)
    expect(heard).toEqual([expect.objectContaining({ type: 'station_offline', ended_at: T0 + 9_000 })])
    expect(after.list({ active: true })).toEqual([])
    // Still the one condition: going offline again opens a new alert, not a second copy of the old one.
    after.observe(online('st-1', false, T0 + 10_000), T0 + 10_000)
    expect(after.list({ station: 'st-1', active: true })).toHaveLength(1)
    expect(after.list({ station: 'st-1' })).toHaveLength(2)
  })

  test('a restored fault ends on the first telemetry newer than it that shows the connector working', () => {
    // The recovery's status message was missed (the API was down; the retained status topic holds
    // only the station's latest change, perhaps on another connector). Telemetry tells.
    const before = new AlertEngine()
    before.observe(status('st-4', true, T0), T0)
    const after = restart(before)
    const withStatus = (at: number, state: 'Faulted' | 'Available') =>
      decoded(SITE, 'st-4', 'telemetry', telemetry(at, 2, [connectorSample(1, 0, { status: state })]), at)
    after.observe(withStatus(T0 - 1_000, 'Available'), T0 + 500) // a sample from before the fault
    after.observe(withStatus(T0 + 1_000, 'Faulted'), T0 + 1_000)
    expect(after.list({ active: true }).map((a) => a.type)).toEqual(['connector_faulted'])
    after.observe(withStatus(T0 + 2_000, 'Available'), T0 + 2_000)
    expect(after.list({ active: true })).toEqual([])
    expect(after.list()[0]).toMatchObject({ type: 'connector_faulted', ended_at: T0 + 2_000 })
  })

  test('a register dip within rounding raises nothing, and dips in a row cannot walk the register down', () => {
    // The same reading at another resolution: 524,128.104 Wh over MQTT, 524.1281 kWh over OCPP 1.6.
    const engine = new AlertEngine()
    engine.observe(energy('st-5', 524_128.104, T0), T0)
    engine.observe(energy('st-5', 524.1281 * 1000, T0 + 1_000), T0 + 1_000)
    engine.observe(energy('st-5', 524_128.104 - REGISTER_ROUNDING_WH, T0 + 2_000), T0 + 2_000)
    expect(engine.list({ station: 'st-5' })).toEqual([])
    // Measured from the highest reading, not the last: 0.02 Wh beyond rounding.
    engine.observe(energy('st-5', 524_128.084 - REGISTER_ROUNDING_WH, T0 + 3_000), T0 + 3_000)
    expect(engine.list({ station: 'st-5' }).map((a) => a.type)).toEqual(['register_backwards'])
  })

  test('a meter register that went back across the restart still raises register_backwards', () => {
    const after = restart(engineWithHistory())
    after.observe(energy('st-3', 999_000, T0 + 9_000), T0 + 9_000)
    expect(after.list({ station: 'st-3' })).toEqual([
      expect.objectContaining({ type: 'register_backwards', value: -1_000, ended_at: T0 + 9_000 }),
    ])
  })

  test('a restored engine keeps at most alertRules.maxKept alerts, dropping the oldest', () => {
    const state = engineWithHistory().state()
    const template = state.alerts[1] as Alert
    const alerts = Array.from({ length: alertRules.maxKept + 1 }, (_, i) => ({
      ...template,
      id: `a${i.toString(36)}-x`,
    }))
    const engine = new AlertEngine({ ...state, counter: alerts.length, alerts })
    expect(engine.list({ limit: Infinity })).toHaveLength(alertRules.maxKept)
    expect(engine.get('a0-x')).toBeUndefined()
    expect(engine.get(alerts.at(-1)?.id as string)).toBeDefined()
  })
})

describe('alerts file text', () => {
  const saved = JSON.parse(encodeAlertState(engineWithHistory().state())) as {
    counter: number
    alerts: Alert[]
  }
  const [offline, fault] = saved.alerts as [Alert, Alert]
  const variant = (change: object) => JSON.stringify({ ...saved, ...change })

  test.each([
    ['not JSON', '{"v":1,"alerts":[', /^not JSON/],
    ['another format version', variant({ v: 2 }), /^\/v: /],
    [
      'an alert of an unknown type',
      variant({ alerts: [{ ...fault, type: 'meltdown' }] }),
      /^\/alerts\/0\/type/,
    ],
    ['an alert without its start', variant({ alerts: [{ ...fault, started_at: undefined }] }), /started_at/],
    ['a negative energy register', variant({ lastEnergy: { 'state-site/st-3/1': -5 } }), /^\/lastEnergy/],
    ['the same id twice', variant({ alerts: [fault, { ...offline, id: fault.id }] }), /appears twice/],
    [
      'two open alerts of one condition',
      variant({ alerts: [offline, { ...offline, id: 'other' }] }),
      /two open/,
    ],
    ['an id ahead of the counter', variant({ counter: 1 }), /ahead of the id counter 1/],
  ])('%s is refused with the reason', (_, text, reason) => {
    const result = decodeAlertState(text)
    expect(result.ok).toBe(false)
    expect(result.ok ? '' : result.problem).toMatch(reason)
  })
})
