import { describe, expect, test } from 'vitest'
import { createLocalTime } from '@evmon/contracts/site'
import { createSite } from '../src/site.ts'
import { beibei, JULY_NOON, quietBeibei } from './fixtures.ts'

const WEEK_START = Date.parse('2025-07-14T00:00:00+08:00') // a Monday

describe('a seeded simulated week matches the calibration sheet', () => {
  // Three seeds, one week each, at 10-s samples (as npm start's first-start history).
  const dcSessions: { energyKwh: number; vehicle: string }[] = []
  const visitsMin: number[] = []
  const config = beibei()
  for (const seed of [1, 2, 3]) {
    const site = createSite(config, seed, WEEK_START, { sampleIntervalMs: 10_000 })
    const pluggedAt = new Map<string, number>()
    for (let i = 0; i < 7 * 8640; i++) {
      for (const m of site.step()) {
        if (m.station === 'kc-ac') continue
        if (m.kind === 'session' && m.payload.event === 'stopped') {
          dcSessions.push({ energyKwh: (m.payload.energy_wh ?? 0) / 1000, vehicle: m.payload.vehicle ?? '' })
        }
        if (m.kind !== 'status') continue
        // A visit: the car plugged in (Preparing) until the connector is free again.
        const key = `${m.station}/${m.payload.connector}`
        if (m.payload.status === 'Preparing') pluggedAt.set(key, m.payload.ts)
        const since = pluggedAt.get(key)
        if (m.payload.status === 'Available' && since !== undefined) {
          visitsMin.push((m.payload.ts - since) / 60_000)
          pluggedAt.delete(key)
        }
      }
    }
  }

  test('DC sessions deliver ≈32 kWh on average', () => {
    expect(dcSessions.length).toBeGreaterThan(300)
    const mean = dcSessions.reduce((sum, s) => sum + s.energyKwh, 0) / dcSessions.length
    expect(mean).toBeGreaterThan(28)
    expect(mean).toBeLessThan(36)
  })

  test('about half of the visits last under 30 minutes', () => {
    const share = visitsMin.filter((m) => m < 30).length / visitsMin.length
    expect(share).toBeGreaterThan(0.4)
    expect(share).toBeLessThan(0.6)
  })

  test('ride-hailing cars with 50–60 kWh packs are in the mix', () => {
    const packs = new Map(config.vehicles.map((v) => [v.name, v.batteryKwh]))
    const rideHailing = dcSessions.filter((s) => /ride-hailing/.test(s.vehicle))
    expect(rideHailing.length / dcSessions.length).toBeGreaterThan(0.1)
    for (const s of rideHailing) {
      expect(packs.get(s.vehicle)).toBeGreaterThanOrEqual(50)
      expect(packs.get(s.vehicle)).toBeLessThanOrEqual(60)
    }
  })
})

describe('arrival profiles', () => {
  const config = beibei()
  const local = createLocalTime(config.timezone)
  const site = createSite(config, 1, JULY_NOON)
  const demand = { arrivalsPerHour: (cls: string, atMs: number) => site.arrivalsPerHour(cls, atMs) }
  const at = (iso: string) => Date.parse(iso)
  const dayTotal = (cls: string, date: string) =>
    Array.from({ length: 24 }, (_, h) =>
      demand.arrivalsPerHour(cls, at(`${date}T${String(h).padStart(2, '0')}:30:00+08:00`)),
    ).reduce((a, b) => a + b, 0)
  const perDay = (cls: string) => {
    const c = config.arrivalClasses.find((a) => a.id === cls)
    const connectors = config.stations.flatMap((s) => s.connectors).filter((g) => g.arrivalClass === cls)
    return (c?.sessionsPerConnectorPerDay ?? 0) * connectors.length
  }
  const factor = (cls: string) => config.arrivalClasses.find((a) => a.id === cls)?.dayFactor

  test('a working day, a weekend day and a public holiday each have their own total', () => {
    // 16 July 2025 a Wednesday, 19 July a Saturday, 1 October 2025 (a Wednesday) National Day.
    for (const cls of ['supercharging', 'dc-fast', 'ac']) {
      expect(dayTotal(cls, '2025-07-16')).toBeCloseTo(perDay(cls), 6)
      expect(dayTotal(cls, '2025-07-19')).toBeCloseTo(perDay(cls) * (factor(cls)?.weekend ?? 0), 6)
      expect(dayTotal(cls, '2025-10-01')).toBeCloseTo(perDay(cls) * (factor(cls)?.holiday ?? 0), 6)
    }
  })

  test('working days peak at lunch in the park; weekends do not', () => {
    const noon = (date: string) => demand.arrivalsPerHour('supercharging', at(`${date}T12:30:00+08:00`))
    const morning = (date: string) => demand.arrivalsPerHour('supercharging', at(`${date}T10:30:00+08:00`))
    expect(noon('2025-07-16') / morning('2025-07-16')).toBeGreaterThan(2)
    expect(noon('2025-07-19') / morning('2025-07-19')).toBeLessThan(1.2)
  })

  test('a night peak when the valley tariff starts at 23:00', () => {
    // The site's tariff: 22:00 is not valley, 23:00 is.
    expect(config.tariff.hours[22]).not.toBe('valley')
    expect(config.tariff.hours[23]).toBe('valley')
    for (const cls of ['supercharging', 'dc-fast', 'ac']) {
      const before = demand.arrivalsPerHour(cls, at('2025-07-16T22:30:00+08:00'))
      const after = demand.arrivalsPerHour(cls, at('2025-07-16T23:30:00+08:00'))
      expect(after).toBeGreaterThan(1.3 * before)
    }
  })

  test('in a simulated month, more cars plug in at 23:00 than at 22:00', () => {
    const site = createSite(beibei(), 4, WEEK_START, { sampleIntervalMs: 60_000 })
    const byHour = new Array<number>(24).fill(0)
    for (let i = 0; i < 28 * 1440; i++) {
      for (const m of site.step()) {
        if (m.kind === 'status' && m.payload.status === 'Preparing') {
          const hour = Math.floor(local(m.payload.ts).hour)
          byHour[hour] = (byHour[hour] ?? 0) + 1
        }
      }
    }
    expect(byHour[23]).toBeGreaterThan((byHour[22] ?? 0) * 1.3)
  })
})

describe('drivers take any suitable free gun', () => {
  const busyExcept = (free: string, edit: Parameters<typeof quietBeibei>[0]) => {
    const site = createSite(quietBeibei(edit), 1, JULY_NOON)
    for (const s of site.describe()) {
      for (const c of s.connectors) {
        if (`${s.id}/${c.id}` === free || s.id === 'kc-ac') continue
        site.plugIn(s.id, c.id, { vehicle: 'byd-han', socPct: 10, targetSocPct: 100 })
      }
    }
    return site
  }
  const firstNewCar = (site: ReturnType<typeof createSite>, key: string) => {
    for (let i = 0; i < 3600; i++) {
      site.step()
      const [station, id] = key.split('/')
      const c = site
        .describe()
        .find((s) => s.id === station)
        ?.connectors.find((g) => g.id === Number(id))
      if (c?.vehicle) return c.vehicle
    }
    return undefined
  }

  test('a 400 V car of the 160 kW guns’ stream takes the free 480 kW gun when the others are busy', () => {
    const site = busyExcept('zn-super/1', (json) => {
      for (const cls of json.arrivalClasses) {
        if (cls.id !== 'dc-fast') continue
        cls.sessionsPerConnectorPerDay = 50
        cls.vehicleMix = [{ vehicle: 'byd-han', weight: 1 }]
      }
    })
    expect(firstNewCar(site, 'zn-super/1')).toBe('byd-han')
  })

  test('a supercharging driver finding the 480 kW gun busy takes a free 160 kW gun', () => {
    const site = busyExcept('kc-fast-2/2', (json) => {
      for (const cls of json.arrivalClasses) {
        if (cls.id !== 'supercharging') continue
        cls.sessionsPerConnectorPerDay = 300
        cls.vehicleMix = [{ vehicle: 'xpeng-g6', weight: 1 }]
      }
    })
    expect(firstNewCar(site, 'kc-fast-2/2')).toBe('xpeng-g6')
  })

  test('an 800 V car goes to the gun that charges it fastest; a 400 V car to any', () => {
    const tally = (vehicle: string) => {
      const site = createSite(
        quietBeibei((json) => {
          for (const cls of json.arrivalClasses) {
            if (cls.id !== 'dc-fast') continue
            cls.sessionsPerConnectorPerDay = 4
            cls.vehicleMix = [{ vehicle, weight: 1 }]
            cls.finishingS = { min: 30, max: 30 }
          }
        }),
        2,
        JULY_NOON,
      )
      const guns = new Map<string, number>()
      for (let i = 0; i < 86_400 / 10; i++) {
        for (const m of site.step()) {
          if (m.kind === 'status' && m.payload.status === 'Preparing') {
            const key = `${m.station}/${m.payload.connector}`
            guns.set(key, (guns.get(key) ?? 0) + 1)
          }
        }
      }
      const total = [...guns.values()].reduce((a, b) => a + b, 0)
      return (guns.get('zn-super/1') ?? 0) / total
    }
    // Seven guns: a driver who does not care lands on the 480 kW gun about one time in seven.
    expect(tally('li-mega')).toBeGreaterThan(0.5)
    expect(tally('byd-han')).toBeLessThan(0.3)
  })
})
