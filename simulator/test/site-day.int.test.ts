import {
  OCCUPIED_STATUSES,
  UNAVAILABLE_STATUSES,
  type ConnectorStatus,
  type ErrorCode,
} from '@evmon/contracts'
import { beforeAll, describe, expect, test } from 'vitest'
import { dryRunMessages } from '../src/dry-run.ts'
import { createLocalTime } from '@evmon/contracts/site'
import { createSite } from '../src/site.ts'
import { beibei, complete, type CompleteTelemetry } from './fixtures.ts'

// Whole-site physics over whole days. Several seeds, because a day of one gun is only a handful of
// sessions: utilisation is checked on their mean, every invariant on every sample of every day.
const SEEDS = [1, 2, 3, 4]
const DAY_S = 86_400
const START = Date.parse('2025-07-15T00:00:00+08:00')
const config = beibei()

interface ConnectorTally {
  energyWh: number
  integralWh: number
  occupied: number
  samples: number
  unavailable: number
}

interface DayTally {
  backwards: string[]
  pviWorst: number
  pviSamples: number
  gridShortfalls: number
  siteOverLimitW: number
  liquidHighLoad: { outputW: number; inputW: number; samples: number }
  connectors: Map<string, ConnectorTally>
  statuses: Set<string>
}

function runDay(seed: number): DayTally {
  const site = createSite(config, seed, START)
  const local = createLocalTime(config.timezone)
  const gridLimitW = config.grid.transformerKva * 1000 * config.grid.powerFactor
  const superCabinetW = (config.stations.find((s) => s.cooling === 'liquid')?.cabinetMaxPowerKw ?? 0) * 1000
  const tally: DayTally = {
    backwards: [],
    pviWorst: 0,
    pviSamples: 0,
    gridShortfalls: 0,
    siteOverLimitW: 0,
    liquidHighLoad: { outputW: 0, inputW: 0, samples: 0 },
    connectors: new Map(),
    statuses: new Set(),
  }
  const previous = new Map<string, CompleteTelemetry>()
  const sitePowerByTs = new Map<number, number>()
  const status = new Map<string, ConnectorStatus>()
  for (const m of dryRunMessages(site, DAY_S)) {
    if (m.kind === 'status') {
      tally.statuses.add(`${m.payload.status}:${m.payload.error_code satisfies ErrorCode}`)
      status.set(`${m.station}/${m.payload.connector}`, m.payload.status)
    }
    if (m.kind !== 'telemetry') continue
    const t = complete(m.payload)
    const before = previous.get(m.station)
    previous.set(m.station, t)
    sitePowerByTs.set(t.ts, (sitePowerByTs.get(t.ts) ?? 0) + t.meter.grid_power_w)
    let outputW = 0
    let deliveredWh = 0
    for (const c of t.connectors) {
      const key = `${m.station}/${c.id}`
      const tallyOf =
        tally.connectors.get(key) ??
        tally.connectors
          .set(key, { energyWh: 0, integralWh: 0, occupied: 0, samples: 0, unavailable: 0 })
          .get(key)
      const ct = tallyOf as ConnectorTally
      ct.samples++
      if (OCCUPIED_STATUSES.has(c.status)) ct.occupied++
      if (UNAVAILABLE_STATUSES.has(c.status)) ct.unavailable++
      outputW += c.power_w
      if (c.power_w > 0) {
        tally.pviSamples++
        tally.pviWorst = Math.max(tally.pviWorst, Math.abs(c.voltage_v * c.current_a - c.power_w) / c.power_w)
      }
      const prior = before?.connectors.find((p) => p.id === c.id)
      if (!prior) continue
      if (c.energy_wh < prior.energy_wh) tally.backwards.push(`${key} at ${t.ts}`)
      // Only consecutive samples: across an offline gap the integral of power is not published.
      if (t.seq === (before?.seq ?? -2) + 1) {
        ct.energyWh += c.energy_wh - prior.energy_wh
        ct.integralWh += c.power_w / 3600
        deliveredWh += c.energy_wh - prior.energy_wh
      }
    }
    if (before) {
      if (t.meter.grid_energy_wh < before.meter.grid_energy_wh)
        tally.backwards.push(`${m.station} grid at ${t.ts}`)
      if (t.seq === before.seq + 1 && t.meter.grid_energy_wh - before.meter.grid_energy_wh < deliveredWh) {
        tally.gridShortfalls++
      }
    }
    if (m.station === 'zn-super' && outputW >= 0.5 * superCabinetW) {
      tally.liquidHighLoad.outputW += outputW
      tally.liquidHighLoad.inputW += t.meter.grid_power_w - t.meter.aux_power_w
      tally.liquidHighLoad.samples++
    }
  }
  for (const [ts, stationsW] of sitePowerByTs) {
    const loungeW = (config.loungeKwByHour[Math.floor(local(ts).hour)] ?? 0) * 1000
    tally.siteOverLimitW = Math.max(tally.siteOverLimitW, stationsW + loungeW - gridLimitW)
  }
  return tally
}

describe('a whole day at the Beibei site', () => {
  const days: DayTally[] = []
  beforeAll(() => {
    for (const seed of SEEDS) days.push(runDay(seed))
  })

  test('every energy register is monotonic', () => {
    for (const day of days) expect(day.backwards).toEqual([])
  })

  test('the energy registers equal the integral of power within 0.5%', () => {
    for (const day of days) {
      for (const [key, c] of day.connectors) {
        if (c.energyWh < 1000) continue
        expect(Math.abs(c.energyWh - c.integralWh) / c.energyWh, key).toBeLessThanOrEqual(0.005)
      }
    }
    expect(days.every((d) => [...d.connectors.values()].some((c) => c.energyWh > 100_000))).toBe(true)
  })

  test('power equals voltage times current within 1% in every sample', () => {
    for (const day of days) {
      expect(day.pviSamples).toBeGreaterThan(10_000)
      expect(day.pviWorst).toBeLessThanOrEqual(0.01)
    }
  })

  test('the grid meter counts at least what the connectors deliver, sample by sample', () => {
    for (const day of days) expect(day.gridShortfalls).toBe(0)
  })

  test('the liquid-cooled cabinet converts at 95–96.5% at half load or more', () => {
    for (const day of days) {
      const { outputW, inputW, samples } = day.liquidHighLoad
      expect(samples).toBeGreaterThan(60)
      expect(outputW / inputW).toBeGreaterThanOrEqual(0.95)
      expect(outputW / inputW).toBeLessThanOrEqual(0.965)
    }
  })

  test('site power never exceeds the grid limit', () => {
    // Each station's power is rounded to the watt.
    for (const day of days) expect(day.siteOverLimitW).toBeLessThanOrEqual(config.stations.length)
  })

  test('each DC gun is occupied for a share of the day within its class band', () => {
    const classOf = new Map(
      config.stations.flatMap((s) =>
        s.connectors.map((c) => [
          `${s.id}/${c.id}`,
          config.arrivalClasses.find((a) => a.id === c.arrivalClass),
        ]),
      ),
    )
    const dcGuns = config.stations.flatMap((s) =>
      s.connectors.filter((c) => c.kind === 'dc').map((c) => `${s.id}/${c.id}`),
    )
    expect(dcGuns.length).toBe(7)
    for (const gun of dcGuns) {
      const occupiedPct =
        (100 * days.reduce((sum, d) => sum + (d.connectors.get(gun)?.occupied ?? 0), 0)) /
        days.reduce((sum, d) => sum + (d.connectors.get(gun)?.samples ?? 0), 0)
      const band = classOf.get(gun)?.occupancyTargetPct
      expect(occupiedPct, gun).toBeGreaterThanOrEqual(band?.min ?? Infinity)
      expect(occupiedPct, gun).toBeLessThanOrEqual(band?.max ?? -Infinity)
    }
  })

  test('things go wrong, yet connectors stay available (not Faulted, not offline) at least 97% of the time', () => {
    const seen = new Set(days.flatMap((d) => [...d.statuses]))
    expect(seen).toContain('SuspendedEVSE:EVCommunicationError')
    expect([...seen].some((s) => s.startsWith('Faulted:'))).toBe(true)
    let down = 0
    let total = 0
    for (const day of days) {
      for (const c of day.connectors.values()) {
        // A sample never published was a second offline.
        down += c.unavailable + (DAY_S - c.samples)
        total += DAY_S
      }
    }
    expect(1 - down / total).toBeGreaterThanOrEqual(0.97)
  })
})
