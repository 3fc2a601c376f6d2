import type { ConnectorSample } from '@evmon/contracts'
import { DERATE_START_C, DERATE_ZERO_C } from '@evmon/contracts/site'
import { describe, expect, test } from 'vitest'
import { createSite } from '../src/site.ts'
import { beibeiJson, connectorSamples, JULY_NOON, quietBeibei } from './fixtures.ts'

const gun = beibeiJson().stations[0]?.connectors[0]
const cooling = gun?.liquidCooling
if (!gun || !cooling) throw new Error('the site file has no liquid-cooled gun')
const { flowFaultS } = beibeiJson().faults.coolingFailure

// A car that takes whatever current the gun gives at a 400 V pack: the supercharging gun's 670 A
// binds for the whole session, the way a sustained maximum-current charge runs.
const withSustained670A = () =>
  quietBeibei((json) => {
    json.vehicles.push({
      id: 'current-hungry',
      name: 'Hypothetical car that takes 670 A throughout',
      batteryKwh: 400,
      dc: {
        voltageClass: 400,
        nominalPackVoltageV: 400,
        chemistry: 'lfp',
        packResistanceMilliohm: 40,
        peakKw: 600,
        maxCurrentA: 1500,
        curve: [
          { socPct: 0, powerKw: 600 },
          { socPct: 100, powerKw: 600 },
        ],
      },
    })
  })

function sustainedSession(ambientC: number, seconds: number): ConnectorSample[] {
  const site = createSite(withSustained670A(), 1, JULY_NOON)
  // The control API's heat-wave scenario (PUT /ambient) sets exactly this.
  site.ambientOverrideC = ambientC
  site.plugIn('zn-super', 1, { vehicle: 'current-hungry', socPct: 5, targetSocPct: 95 })
  return connectorSamples(Array.from({ length: seconds }, () => site.step()).flat(), 'zn-super', 1).filter(
    (c) => c.power_w > 0,
  )
}

describe('thermal derating of the liquid-cooled gun', () => {
  test('a sustained 670 A session on a 40 °C Chongqing afternoon reaches the derating threshold', () => {
    const samples = sustainedSession(40, 40 * 60)
    const temps = samples.map((c) => c.temp_c ?? Number.NaN)
    expect(samples[0]?.current_a ?? 0).toBeCloseTo(gun.maxCurrentA, 0)
    expect(Math.max(...temps)).toBeGreaterThanOrEqual(DERATE_START_C)
    expect(Math.max(...temps)).toBeLessThan(DERATE_ZERO_C)
    samples.slice(1).forEach((c, i) => {
      const contactC = temps[i] as number
      const share = (DERATE_ZERO_C - contactC) / (DERATE_ZERO_C - DERATE_START_C)
      // The limit follows the contact temperature at the start of the sample (rounded to 0.1 °C).
      expect(c.current_a ?? 0).toBeLessThanOrEqual(gun.maxCurrentA * Math.min(1, share) + 5)
    })
    // Derated: the current fell below 670 A once the contacts passed 80 °C.
    expect(Math.min(...samples.slice(-60).map((c) => c.current_a ?? 0))).toBeLessThan(gun.maxCurrentA - 10)
  })

  test('the same session on a 25 °C day never reaches it and keeps its 670 A', () => {
    const samples = sustainedSession(25, 40 * 60)
    expect(Math.max(...samples.map((c) => c.temp_c ?? Number.NaN))).toBeLessThan(DERATE_START_C)
    expect(samples.every((c) => Math.abs((c.current_a ?? 0) - gun.maxCurrentA) < 1)).toBe(true)
  })
})

describe('coolant loop failures', () => {
  test('a failed pump trips the flow switch within seconds, long before the coolant is hot', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'li-mega', socPct: 10, targetSocPct: 90 })
    for (let i = 0; i < 120; i++) site.step()
    site.failCooling('zn-super', 1, 'pump', 600)
    const messages = Array.from({ length: 30 }, () => site.step()).flat()
    const fault = messages.find((m) => m.kind === 'status' && m.payload.status === 'Faulted')
    if (fault?.kind !== 'status') throw new Error('no fault')
    expect(fault.payload).toMatchObject({ connector: 1, error_code: 'OtherError' })
    expect(fault.payload.vendor_error).toMatch(/flow/)
    const failedAtMs = (fault.payload.ts as number) - (((fault.payload.ts as number) - JULY_NOON) % 1)
    expect(failedAtMs - (JULY_NOON + 120_000)).toBeLessThanOrEqual((flowFaultS + 1) * 1000)
    const samples = connectorSamples(messages, 'zn-super', 1)
    expect(Math.max(...samples.map((c) => c.coolant_c ?? 0))).toBeLessThan(cooling.coolantTripC - 10)
    // The session stopped with the fault; the gun stays out until the pump is repaired.
    const stop = messages.find((m) => m.kind === 'session' && m.payload.event === 'stopped')
    expect(stop?.kind === 'session' && stop.payload.reason).toBe('Other')
    expect(samples.at(-1)?.status).toBe('Faulted')
  })

  test('an air-cooled gun has no coolant loop to fail', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    expect(() => site.failCooling('kc-fast-1', 1, 'pump', 60)).toThrow(/not liquid-cooled/)
  })
})
