import type { NextCheaper, Price } from '../api/availability.ts'
import { localParts } from './local-time.ts'

/** A time-of-use tariff: periods by local hour, an optional critical-peak uplift, and a service fee. */
export interface Tariff {
  currency: string
  /** Yuan (or `currency`) per kWh by period. */
  energyPerKwh: { valley: number; flat: number; peak: number }
  /** Period of each local hour 0–23. */
  hours: ReadonlyArray<'valley' | 'flat' | 'peak'>
  /** Critical peak: these local hours in these months (1–12) cost peak × (1 + upliftPct/100). */
  criticalPeak?: { months: readonly number[]; hours: readonly number[]; upliftPct: number }
  servicePerKwh: number
}

function periodAt(tariff: Tariff, month: number, hour: number): Price['period'] {
  const c = tariff.criticalPeak
  if (c && c.months.includes(month) && c.hours.includes(hour)) return 'critical_peak'
  return tariff.hours[hour] ?? 'flat'
}

function energyPrice(tariff: Tariff, period: Price['period']): number {
  if (period === 'critical_peak') {
    return tariff.energyPerKwh.peak * (1 + (tariff.criticalPeak?.upliftPct ?? 0) / 100)
  }
  return tariff.energyPerKwh[period]
}

/**
 * Compiles the tariff into a table of total prices per kWh (energy plus service fee) for each local
 * hour 0–23, one for ordinary months and one for critical-peak months, and returns the lookup: what the
 * simulator prices every sample with instead of searching the tariff.
 */
export function compileTariff(tariff: Tariff): (local: { month: number; hour: number }) => number {
  const table = (month: number | undefined) =>
    Array.from({ length: 24 }, (_, hour) => {
      const period = month === undefined ? (tariff.hours[hour] ?? 'flat') : periodAt(tariff, month, hour)
      return energyPrice(tariff, period) + tariff.servicePerKwh
    })
  const months = tariff.criticalPeak?.months ?? []
  const ordinary = table(undefined)
  const criticalPeak = table(months[0])
  const criticalMonths = new Set(months)
  return ({ month, hour }) =>
    (criticalMonths.has(month) ? criticalPeak : ordinary)[Math.min(23, Math.floor(hour))] as number
}

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000

/** The price at `ms` in the site's time zone, and when it next changes (hour boundaries). */
export function priceAt(tariff: Tariff, ms: number, timeZone: string): Price {
  const { month, hour, minute } = localParts(ms, timeZone)
  const period = periodAt(tariff, month, hour)
  let until = ms - (ms % 60_000) + (60 - minute) * 60_000
  // Walk whole hours until the period changes; a day always has a change, so this ends within 24 steps.
  for (let i = 0; i < 24; i++) {
    const next = localParts(until, timeZone)
    if (periodAt(tariff, next.month, next.hour) !== period) break
    until += 3_600_000
  }
  const energy = energyPrice(tariff, period)
  return {
    period,
    energy_per_kwh: round4(energy),
    service_per_kwh: tariff.servicePerKwh,
    total_per_kwh: round4(energy + tariff.servicePerKwh),
    currency: tariff.currency,
    until,
  }
}

/** Cost of energy delivered over time: `[t, wh]` slices priced at their own local time. */
export function energyCost(
  tariff: Tariff,
  slices: ReadonlyArray<readonly [t: number, wh: number]>,
  timeZone: string,
): { energy: number; service: number; total: number; currency: string } {
  let energy = 0
  let kwh = 0
  for (const [t, wh] of slices) {
    const { month, hour } = localParts(t, timeZone)
    energy += (wh / 1000) * energyPrice(tariff, periodAt(tariff, month, hour))
    kwh += wh / 1000
  }
  const service = kwh * tariff.servicePerKwh
  const r2 = (x: number) => Math.round(x * 100) / 100
  return { energy: r2(energy), service: r2(service), total: r2(energy + service), currency: tariff.currency }
}

/**
 * The next local hour boundary after `ms`, within 24 h, at which the total price (energy + service fee)
 * is lower than the price at `ms`; null when none is (e.g. already in the cheapest period).
 */
export function nextCheaper(tariff: Tariff, ms: number, timeZone: string): NextCheaper | null {
  const current = priceAt(tariff, ms, timeZone).total_per_kwh
  const { minute } = localParts(ms, timeZone)
  // Periods change only at local hour boundaries: check each of them over the next 24 h.
  for (let t = ms - (ms % 60_000) + (60 - minute) * 60_000; t <= ms + 86_400_000; t += 3_600_000) {
    const { month, hour } = localParts(t, timeZone)
    const total = round4(energyPrice(tariff, periodAt(tariff, month, hour)) + tariff.servicePerKwh)
    if (total < current) return { from: t, price_per_kwh: total }
  }
  return null
}
