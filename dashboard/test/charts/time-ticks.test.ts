import { describe, expect, test } from 'vitest'
import { tickDecimals } from '../../src/charts/ticks.ts'
import { timeTicks } from '../../src/charts/time-ticks.ts'

const at = (h: number, m: number, s: number) => Date.UTC(2025, 2, 25, h, m, s)

describe('timeTicks', () => {
  test('an hour on a wide axis ticks every 10 minutes on the minute', () => {
    expect(timeTicks(at(2, 0, 7), at(3, 0, 7), 8)).toEqual([
      at(2, 10, 0),
      at(2, 20, 0),
      at(2, 30, 0),
      at(2, 40, 0),
      at(2, 50, 0),
      at(3, 0, 0),
    ])
  })

  test('a phone-width axis gets fewer, coarser ticks', () => {
    expect(timeTicks(at(2, 0, 7), at(3, 0, 7), 3)).toEqual([at(2, 30, 0), at(3, 0, 0)])
  })

  test('a minute of data ticks on whole seconds', () => {
    const ticks = timeTicks(at(2, 0, 0) + 250, at(2, 1, 0) + 250, 7)
    expect(ticks).toEqual([at(2, 0, 10), at(2, 0, 20), at(2, 0, 30), at(2, 0, 40), at(2, 0, 50), at(2, 1, 0)])
  })

  test('never returns more ticks than asked for', () => {
    for (const max of [1, 2, 5, 9]) {
      expect(timeTicks(at(0, 0, 0), at(23, 59, 59), max).length).toBeLessThanOrEqual(max)
    }
  })

  test('a single point gets a tick only if it sits on a step', () => {
    expect(timeTicks(at(2, 0, 0), at(2, 0, 0), 5)).toEqual([at(2, 0, 0)])
    expect(timeTicks(at(2, 0, 0) + 500, at(2, 0, 0) + 500, 5)).toEqual([])
  })

  test('an empty or reversed range has no ticks', () => {
    expect(timeTicks(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5)).toEqual([])
    expect(timeTicks(at(3, 0, 0), at(2, 0, 0), 5)).toEqual([])
  })
})

describe('tickDecimals', () => {
  test('shows a decimal only on a small fractional scale', () => {
    expect(tickDecimals(0.4)).toBe(1)
    expect(tickDecimals(1)).toBe(0)
    expect(tickDecimals(250)).toBe(0)
    expect(tickDecimals(12.5)).toBe(0)
  })
})
