import { describe, expect, test } from 'vitest'
import { createSite } from '../src/site.ts'
import { beibeiJson, JULY_NOON, quietBeibei, telemetryOf } from './fixtures.ts'

// Numbers read from the site file itself, so the test checks the model, not a copy of its constants.
const json = beibeiJson()
const acStation = json.stations.find((s) => s.id === 'kc-ac')
const pileEfficiency = acStation?.efficiency[0]?.efficiency ?? Number.NaN
const standbyW = acStation?.standbyW ?? Number.NaN
const onBoardCharger = json.battery.onBoardChargerEfficiency
const phevKwh = json.vehicles.find((v) => v.id === 'phev-generic')?.batteryKwh ?? Number.NaN

describe('an AC pile passes energy through; the car keeps its on-board charger loss', () => {
  const site = createSite(quietBeibei(), 1, JULY_NOON)
  site.plugIn('kc-ac', 1, { vehicle: 'phev-generic', socPct: 20, targetSocPct: 90 })
  const socAt = () => site.describe().find((s) => s.id === 'kc-ac')?.connectors[0]?.socPct ?? Number.NaN
  // Past Preparing, then one hour of steady charging.
  for (let i = 0; i < 60; i++) site.step()
  const socBefore = socAt()
  const messages = Array.from({ length: 3600 }, () => site.step()).flat()
  const socAfter = socAt()
  const telemetry = telemetryOf(messages, 'kc-ac')
  const first = telemetry[0]
  const last = telemetry.at(-1)
  if (!first || !last) throw new Error('no kc-ac telemetry')
  const seconds = (last.ts - first.ts) / 1000
  const deliveredWh = (last.connectors[0]?.energy_wh ?? 0) - (first.connectors[0]?.energy_wh ?? 0)
  const gridWh = last.meter.grid_energy_wh - first.meter.grid_energy_wh

  test('the pile meter sees ≈99.5% of the grid energy once standby is taken off', () => {
    expect(deliveredWh).toBeGreaterThan(6000)
    const passedThrough = deliveredWh / (gridWh - (standbyW * seconds) / 3600)
    expect(passedThrough).toBeCloseTo(pileEfficiency, 3)
    expect(passedThrough).toBeGreaterThan(0.99)
  })

  test('grid power while charging is the pile output ÷ 0.995 plus standby, not ÷ 0.93', () => {
    const sample = telemetry[1800]
    const outputW = sample?.connectors[0]?.power_w ?? 0
    expect(outputW).toBeGreaterThan(6000)
    expect(sample?.meter.grid_power_w).toBeCloseTo(outputW / pileEfficiency + standbyW, -1)
    expect(sample?.meter.grid_power_w ?? 0).toBeLessThan(outputW / onBoardCharger)
  })

  test('the battery gains the pile energy × the on-board charger efficiency', () => {
    const storedWh = ((socAfter - socBefore) / 100) * phevKwh * 1000
    expect(storedWh / deliveredWh).toBeCloseTo(onBoardCharger, 2)
  })
})
