import { describe, expect, test } from 'vitest'
import { allocate, type PowerRequest } from '../src/allocation.ts'

const kW = 1000
const request = (
  key: string,
  cabinet: string,
  priority: number,
  requestKw: number,
  gunKw = requestKw,
): PowerRequest => ({
  key,
  cabinet,
  priority,
  gunLimitW: gunKw * kW,
  requestW: requestKw * kW,
})
const unlimitedGrid = { gridBudgetW: Number.POSITIVE_INFINITY, gridCostPerW: new Map<string, number>() }

describe('power allocation', () => {
  test('the supercharging gun is served first and the fast guns share what the cabinet has left', () => {
    const grants = allocate(
      [request('super', 'zn', 0, 450, 480), request('fast-a', 'zn', 1, 160), request('fast-b', 'zn', 1, 160)],
      { cabinetW: new Map([['zn', 480 * kW]]), ...unlimitedGrid },
    )
    expect(grants.get('super')?.allocatedW).toBe(450 * kW)
    expect(grants.get('fast-a')?.allocatedW).toBe(15 * kW)
    expect(grants.get('fast-b')?.allocatedW).toBe(15 * kW)
    expect(grants.get('fast-a')?.offeredW).toBe(15 * kW)
  })

  test('guns of equal priority share fairly: a small request is met in full, the rest goes to the other', () => {
    const grants = allocate([request('a', 'kc', 1, 160), request('b', 'kc', 1, 50)], {
      cabinetW: new Map([['kc', 160 * kW]]),
      ...unlimitedGrid,
    })
    expect(grants.get('b')?.allocatedW).toBe(50 * kW)
    expect(grants.get('a')?.allocatedW).toBe(110 * kW)
  })

  test('a car taking less than the gun can give is still offered what the gun and cabinet allow', () => {
    const grants = allocate([request('super', 'zn', 0, 90, 480)], {
      cabinetW: new Map([['zn', 480 * kW]]),
      ...unlimitedGrid,
    })
    expect(grants.get('super')).toEqual({ allocatedW: 90 * kW, offeredW: 480 * kW })
  })

  test('cabinets do not lend each other power', () => {
    const grants = allocate(
      [request('a', 'kc-1', 1, 160), request('b', 'kc-1', 1, 160), request('c', 'kc-2', 1, 160)],
      {
        cabinetW: new Map([
          ['kc-1', 160 * kW],
          ['kc-2', 160 * kW],
        ]),
        ...unlimitedGrid,
      },
    )
    expect(grants.get('a')?.allocatedW).toBe(80 * kW)
    expect(grants.get('c')?.allocatedW).toBe(160 * kW)
  })

  test('a tight grid budget trims the lower-priority guns before the supercharging gun', () => {
    const cost = new Map([
      ['zn', 1.25],
      ['kc', 1.25],
    ])
    const grants = allocate([request('super', 'zn', 0, 400), request('fast', 'kc', 1, 160)], {
      cabinetW: new Map([
        ['zn', 480 * kW],
        ['kc', 160 * kW],
      ]),
      gridBudgetW: 550 * kW,
      gridCostPerW: cost,
    })
    expect(grants.get('super')?.allocatedW).toBe(400 * kW)
    // 550 kW of grid minus the 500 kW the supercharging gun costs leaves 50 kW of grid: 40 kW delivered.
    expect(grants.get('fast')?.allocatedW).toBeCloseTo(40 * kW, 6)
    const total = [...grants.values()].reduce((sum, g) => sum + g.allocatedW * 1.25, 0)
    expect(total).toBeLessThanOrEqual(550 * kW + 1e-6)
  })

  test('nothing is delivered when the grid budget is exhausted', () => {
    const grants = allocate([request('a', 'kc', 1, 100)], {
      cabinetW: new Map([['kc', 160 * kW]]),
      gridBudgetW: -5 * kW,
      gridCostPerW: new Map(),
    })
    expect(grants.get('a')).toEqual({ allocatedW: 0, offeredW: 0 })
  })
})
