import { describe, expect, test } from 'vitest'
import { compileTariff, energyCost, nextCheaper, priceAt, type Tariff } from '../../src/site/tariff.ts'

const tariff: Tariff = {
  currency: 'CNY',
  energyPerKwh: { valley: 0.3, flat: 0.5, peak: 0.9 },
  hours: [...Array(24).keys()].map((h) =>
    h < 7 || h === 23 ? 'valley' : h >= 11 && h < 17 ? 'peak' : 'flat',
  ),
  criticalPeak: { months: [7], hours: [12, 13], upliftPct: 20 },
  servicePerKwh: 0.6,
}
const TZ = 'Asia/Shanghai'

describe('tariff', () => {
  test('the price follows the local hour and says when it changes', () => {
    // 02:00 UTC is 10:00 in Chongqing: flat until the peak starts at 11:00.
    const price = priceAt(tariff, Date.parse('2025-03-25T02:00:00Z'), TZ)
    expect(price).toMatchObject({ period: 'flat', energy_per_kwh: 0.5, total_per_kwh: 1.1 })
    expect(price.until).toBe(Date.parse('2025-03-25T03:00:00Z'))
  })

  test('critical peak applies only in its months and hours', () => {
    expect(priceAt(tariff, Date.parse('2025-07-15T04:30:00Z'), TZ)).toMatchObject({
      period: 'critical_peak',
      energy_per_kwh: 1.08,
    })
    expect(priceAt(tariff, Date.parse('2025-06-15T04:30:00Z'), TZ).period).toBe('peak')
  })

  test('the next cheaper price: peak → flat at 17:00, flat → valley at 23:00, none in the valley', () => {
    // 04:30 UTC is 12:30 in Chongqing (peak, 1.5 total): flat (1.1) starts at 17:00.
    expect(nextCheaper(tariff, Date.parse('2025-03-25T04:30:00Z'), TZ)).toEqual({
      from: Date.parse('2025-03-25T09:00:00Z'),
      price_per_kwh: 1.1,
    })
    // 10:00 flat (1.1): valley (0.9) at 23:00.
    expect(nextCheaper(tariff, Date.parse('2025-03-25T02:00:00Z'), TZ)).toEqual({
      from: Date.parse('2025-03-25T15:00:00Z'),
      price_per_kwh: 0.9,
    })
    // 02:00 and 23:30 are in the valley, the cheapest period: nothing cheaper within 24 h.
    expect(nextCheaper(tariff, Date.parse('2025-03-24T18:00:00Z'), TZ)).toBeNull()
    expect(nextCheaper(tariff, Date.parse('2025-03-25T15:30:00Z'), TZ)).toBeNull()
  })

  test('in a critical-peak month the plain peak after it counts as cheaper', () => {
    // 12:30 in July is critical peak (1.08 + 0.6): the plain peak (1.5) from 14:00 is cheaper.
    expect(nextCheaper(tariff, Date.parse('2025-07-15T04:30:00Z'), TZ)).toEqual({
      from: Date.parse('2025-07-15T06:00:00Z'),
      price_per_kwh: 1.5,
    })
    // 11:30 in July is peak; critical peak follows at 12:00, flat only at 17:00.
    expect(nextCheaper(tariff, Date.parse('2025-07-15T03:30:00Z'), TZ)).toEqual({
      from: Date.parse('2025-07-15T09:00:00Z'),
      price_per_kwh: 1.1,
    })
  })

  test('energy is priced at the local time it was delivered', () => {
    const cost = energyCost(
      tariff,
      [
        [Date.parse('2025-03-25T18:00:00Z'), 10_000],
        [Date.parse('2025-03-25T04:00:00Z'), 10_000],
      ],
      TZ,
    )
    expect(cost).toEqual({ energy: 12, service: 12, total: 24, currency: 'CNY' })
  })
})

describe('hourly price tables', () => {
  test('each hour of each table costs what priceAt charges at that local hour', () => {
    const chongqing: Tariff = {
      currency: 'CNY',
      energyPerKwh: { valley: 0.3, flat: 0.6, peak: 0.9 },
      hours: Array.from({ length: 24 }, (_, h) => (h < 8 ? 'valley' : h < 17 ? 'flat' : 'peak')),
      criticalPeak: { months: [7, 8], hours: [20, 21], upliftPct: 20 },
      servicePerKwh: 0.8,
    }
    const pricePerKwh = compileTariff(chongqing)
    for (let hour = 0; hour < 24; hour++) {
      const march = Date.parse(`2025-03-10T${String(hour).padStart(2, '0')}:30:00+08:00`)
      const july = Date.parse(`2025-07-10T${String(hour).padStart(2, '0')}:30:00+08:00`)
      expect(pricePerKwh({ month: 3, hour: hour + 0.5 })).toBeCloseTo(
        priceAt(chongqing, march, 'Asia/Shanghai').total_per_kwh,
        4,
      )
      expect(pricePerKwh({ month: 7, hour: hour + 0.5 })).toBeCloseTo(
        priceAt(chongqing, july, 'Asia/Shanghai').total_per_kwh,
        4,
      )
    }
    expect(pricePerKwh({ month: 8, hour: 20 })).toBeCloseTo(0.9 * 1.2 + 0.8, 12)
    expect(pricePerKwh({ month: 9, hour: 20 })).toBeCloseTo(0.9 + 0.8, 12)
  })
})
