import { hourlyPrices, type LocalTime } from '@evmon/contracts/site'
import type { TariffFile } from './site-config-schema.ts'

/** What a kilowatt-hour costs the driver at a given local time. */
export interface Tariff {
  readonly currency: string
  /** Energy price plus service fee, per kWh. */
  pricePerKwh(t: LocalTime): number
}

/**
 * Prices the site's time-of-use tariff with the contract's engine, compiled once into a table per
 * local hour (ordinary and critical-peak months), so pricing a sample is a lookup rather than a search.
 */
export function createTariff(tariff: TariffFile): Tariff {
  const { ordinary, criticalPeak, criticalMonths } = hourlyPrices(tariff)
  return {
    currency: tariff.currency,
    pricePerKwh(t) {
      const table = criticalMonths.has(t.month) ? criticalPeak : ordinary
      return table[Math.min(23, Math.floor(t.hour))] as number
    },
  }
}
