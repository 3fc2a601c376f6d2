import { describe, expect, test } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'
import type { CatalogueSite, SiteCatalogue } from '../../src/sites/site-catalogue.ts'
import { availability } from '../../src/availability/availability.ts'

const T0 = 1_742_869_800_000

/** A site whose only station is the fixture's: a 480 kW cabinet, gun 1 (480 kW, served first) and gun 2 (160 kW). */
const site: CatalogueSite = {
  id: 'beibei',
  timezone: 'Asia/Shanghai',
  gridLimitW: 10_000_000,
  tariff: {
    currency: 'CNY',
    energyPerKwh: { valley: 0.3, flat: 0.5, peak: 0.9 },
    hours: Array.from({ length: 24 }, (_, h) => (h < 8 ? 'valley' : h < 17 ? 'flat' : 'peak')),
    servicePerKwh: 0.6,
  },
  arrivalSocPct: 25,
  auxKwByHour: null,
  vehicles: [
    {
      id: 'flat-800',
      name: 'Flat 800 V',
      batteryKwh: 100,
      voltageClass: 800,
      nominalPackVoltageV: 750,
      maxCurrentA: 700,
      curve: [{ socPct: 0, powerKw: 500 }],
    },
  ],
  stations: new Map([
    [
      'zn-super',
      {
        id: 'zn-super',
        name: 'Zhongnan',
        cooling: 'liquid',
        cabinetMaxPowerW: 480_000,
        connectors: [
          {
            id: 1,
            kind: 'dc',
            standard: null,
            maxPowerW: 480_000,
            maxCurrentA: 670,
            minVoltageV: 200,
            maxVoltageV: 1000,
            liquidCooled: true,
            priority: 0,
          },
          {
            id: 2,
            kind: 'dc',
            standard: null,
            maxPowerW: 160_000,
            maxCurrentA: 250,
            minVoltageV: 200,
            maxVoltageV: 1000,
            liquidCooled: false,
            priority: 1,
          },
        ],
      },
    ],
  ]),
}
const catalogue: SiteCatalogue = { sites: new Map([['beibei', site]]), descriptions: new Map() }

function answer(gun1W: number, gun2W: number) {
  const state = new LiveState(3_000)
  state.apply(decoded('beibei', 'zn-super', 'meta', stationMeta('zn-super'), T0), T0)
  state.apply(decoded('beibei', 'zn-super', 'online', { online: true, ts: T0 }, T0), T0)
  const samples = [connectorSample(1, gun1W), connectorSample(2, gun2W)]
  state.apply(decoded('beibei', 'zn-super', 'telemetry', telemetry(T0, 1, samples), T0), T0)
  const stations = state.snapshot(T0).stations
  return availability({ site: 'beibei', now: T0, stations, catalogue, running: () => undefined }).connectors
}

describe('typical power now respects the cabinet priority', () => {
  test('the supercharging gun may take the whole cabinet, whatever the gun served after it draws', () => {
    const [gun1] = answer(0, 160_000)
    // Gun 2 yields to gun 1: a typical 800 V car on gun 1 gets the gun's 480 kW, not 480 − 160.
    expect(gun1?.typical_800v_w).toBe(480_000)
  })

  test('a gun served after the supercharging gun gets what it leaves', () => {
    const [, gun2] = answer(400_000, 0)
    expect(gun2?.typical_800v_w).toBe(80_000)
  })
})

describe('the price is the site’s own', () => {
  test('priced with the tariff of the site asked about, in its time zone; an unknown site has none', () => {
    const input = { now: T0, stations: [], catalogue, running: () => undefined }
    // T0 is 10:30 in Chongqing: this site's flat hours, 0.5 energy + 0.6 service.
    expect(availability({ ...input, site: 'beibei' }).price).toMatchObject({
      period: 'flat',
      total_per_kwh: 1.1,
      currency: 'CNY',
    })
    expect(availability({ ...input, site: 'elsewhere' }).price).toBeNull()
  })
})
