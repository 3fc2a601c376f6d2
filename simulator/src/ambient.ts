import type { LocalTime } from '@evmon/contracts/site'
import type { SiteConfig } from './site-config-schema.ts'

/**
 * Ambient temperature at the site: annual mean, a seasonal cosine peaking on the warmest day and a
 * daily cosine peaking at the warmest hour. Enough to make summer afternoons derate hot guns.
 */
export function ambientC(ambient: SiteConfig['ambient'], t: LocalTime): number {
  const seasonal = Math.cos((2 * Math.PI * (t.dayOfYear - ambient.warmestDayOfYear)) / 365.25)
  const daily = Math.cos((2 * Math.PI * (t.hour - ambient.warmestHour)) / 24)
  return ambient.annualMeanC + ambient.seasonalSwingC * seasonal + ambient.dailySwingC * daily
}
