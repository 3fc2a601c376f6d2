import type { LocalTime } from '@evmon/contracts/site'
import type { TariffFile } from './site-config-schema.ts'

/** What a kilowatt-hour costs the driver at a given local time. */
export interface Tariff {
  readonly currency: string
  /** Energy price plus service fee, per kWh. */
  pricePerKwh(t: LocalTime): number
}

/**
 * Compiles the site's time-of-use tariff into a table per local hour (ordinary and critical-peak
 * months), so pricing a sample is a lookup rather than a search. In a critical-peak hour the energy
 * costs the peak price × (1 + uplift), as the API prices it from the same file.
 */
export function createTariff(tariff: TariffFile): Tariff {
  const ordinary = tariff.hours.map((period) => tariff.energyPerKwh[period] + tariff.servicePerKwh)
  const critical = tariff.criticalPeak
  const uplift = 1 + (critical?.upliftPct ?? 0) / 100
  const criticalTable = ordinary.map((price, hour) =>
    critical?.hours.includes(hour) ? tariff.energyPerKwh.peak * uplift + tariff.servicePerKwh : price,
  )
  const criticalMonths = new Set(critical?.months ?? [])
  return {
    currency: tariff.currency,
    pricePerKwh(t) {
      const table = criticalMonths.has(t.month) ? criticalTable : ordinary
      return table[Math.min(23, Math.floor(t.hour))] as number
    },
  }
}
