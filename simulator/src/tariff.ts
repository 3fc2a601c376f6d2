import type { LocalTime } from './local-time.ts'
import type { SiteConfig } from './site-config-schema.ts'

/** What a kilowatt-hour costs the driver at a given local time. */
export interface Tariff {
  readonly currency: string
  /** Energy price plus service fee, per kWh. */
  pricePerKwh(t: LocalTime): number
}

const inHours = (ranges: readonly (readonly [number, number])[], hour: number) =>
  ranges.some(([from, to]) => hour >= from && hour < to)

/**
 * Compiles the site's time-of-use tariff into a table per local hour (ordinary and critical-peak
 * months), so pricing a sample is a lookup rather than a search through periods.
 */
export function createTariff(tariff: SiteConfig['tariff']): Tariff {
  const energyByHour = Array.from({ length: 24 }, (_, hour) => {
    const period = tariff.periods.find((p) => inHours(p.hours, hour))
    return period?.pricePerKwh ?? 0
  })
  const { criticalPeak, serviceFeePerKwh } = tariff
  const uplift = 1 + criticalPeak.upliftPct / 100
  const ordinary = energyByHour.map((price) => price + serviceFeePerKwh)
  const critical = energyByHour.map(
    (price, hour) => (inHours(criticalPeak.hours, hour) ? price * uplift : price) + serviceFeePerKwh,
  )
  const criticalMonths = new Set(criticalPeak.months)
  return {
    currency: tariff.currency,
    pricePerKwh(t) {
      const table = criticalMonths.has(t.month) ? critical : ordinary
      return table[Math.min(23, Math.floor(t.hour))] as number
    },
  }
}
