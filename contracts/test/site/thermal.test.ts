import { describe, expect, test } from 'vitest'
import { DERATE_START_C, DERATE_ZERO_C, derateShare } from '../../src/site/thermal.ts'

describe('gun derating', () => {
  test('full current to the start of derating, none from the zero point, linear between', () => {
    expect(derateShare(25)).toBe(1)
    expect(derateShare(DERATE_START_C)).toBe(1)
    expect(derateShare((DERATE_START_C + DERATE_ZERO_C) / 2)).toBeCloseTo(0.5, 12)
    expect(derateShare(DERATE_ZERO_C)).toBe(0)
    expect(derateShare(DERATE_ZERO_C + 30)).toBe(0)
  })
})
