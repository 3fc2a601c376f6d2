import { LiveSnapshot } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, test } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'
import { siteTotals } from '../../src/live/site-totals.ts'

// A charger connected over OCPP through the gateway reports no grid meter, no auxiliary load, no
// offered power and often no voltage or current: the live view says "not known" (null), never 0.

const T0 = 1_742_869_800_000
const SITE = 'beibei'

function stateWithOcppCharger(): LiveState {
  const state = new LiveState(3_000)
  const meta = {
    v: 1 as const,
    name: 'CS-ABB-00001',
    connectors: [{ id: 1 }, { id: 2 }],
    ocpp: { identity: 'CS-ABB-00001', protocol: 'ocpp1.6' as const },
  }
  state.apply(decoded(SITE, 'cs-abb-00001', 'meta', meta, T0), T0)
  state.apply(decoded(SITE, 'cs-abb-00001', 'online', { online: true, ts: T0 }, T0), T0)
  const ocppTelemetry = {
    v: 1 as const,
    ts: T0,
    seq: 0,
    meter: {},
    connectors: [
      { id: 1, status: 'Charging' as const, power_w: 60_000, energy_wh: 12_000, measured_at: T0 - 20_000 },
      { id: 2, status: 'Available' as const },
    ],
  }
  state.apply(decoded(SITE, 'cs-abb-00001', 'telemetry', ocppTelemetry, T0), T0)
  // A station on the MQTT contract next to it, with its own grid meter.
  state.apply(decoded(SITE, 'zn-super', 'meta', stationMeta('zn-super'), T0), T0)
  state.apply(decoded(SITE, 'zn-super', 'online', { online: true, ts: T0 }, T0), T0)
  const mqtt = telemetry(T0, 1, [connectorSample(1, 300_000), connectorSample(2, 0)], 2_000)
  state.apply(decoded(SITE, 'zn-super', 'telemetry', mqtt, T0), T0)
  return state
}

describe('readings a station does not report', () => {
  const snapshot = stateWithOcppCharger().snapshot(T0 + 500)
  const charger = snapshot.stations.find((s) => s.station === 'cs-abb-00001')

  test('are null in the live view, which still matches its contract', () => {
    expect(Value.Errors(LiveSnapshot, snapshot).First()).toBeUndefined()
    expect(charger).toMatchObject({
      ocpp_identity: 'CS-ABB-00001',
      cooling: null,
      cabinet_max_power_w: null,
      grid_power_w: null,
      aux_power_w: null,
    })
    expect(charger?.connectors[0]).toMatchObject({
      kind: null,
      max_power_w: null,
      power_w: 60_000,
      energy_wh: 12_000,
      offered_w: null,
      voltage_v: null,
      current_a: null,
    })
    expect(charger?.connectors[1]).toMatchObject({
      status: 'Available',
      power_w: null,
      energy_wh: null,
      offered_w: null,
    })
  })

  test('a station without a grid meter counts in site power with what its connectors deliver', () => {
    // zn-super: grid meter 300 kW + 2 kW aux; the charger: no meter, 60 kW on connector 1.
    expect(snapshot.site_power_w).toBe(302_000 + 60_000)
    const [totals] = siteTotals(snapshot.stations, () => 1_000_000)
    expect(totals).toMatchObject({ power_w: 362_000, headroom_w: 1_000_000 - 362_000 })
  })
})
