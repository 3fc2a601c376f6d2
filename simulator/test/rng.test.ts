import { describe, expect, test } from 'vitest'
import { createRng } from '../src/rng.ts'

const draws = (seed: number, stream: string, n = 100) => {
  const rng = createRng(seed, stream)
  return Array.from({ length: n }, () => rng.next())
}

describe('seeded randomness', () => {
  test('the same seed and stream repeat exactly; another seed or stream does not', () => {
    expect(draws(1, 'a')).toEqual(draws(1, 'a'))
    expect(draws(1, 'a')).not.toEqual(draws(2, 'a'))
    expect(draws(1, 'a')).not.toEqual(draws(1, 'b'))
  })

  test('uniform draws stay in [0, 1) and average about one half', () => {
    const values = draws(7, 'uniform', 20_000)
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(0.5, 1)
  })

  test('triangular draws stay within bounds and average (min + mode + max) / 3', () => {
    const rng = createRng(3, 'triangular')
    const values = Array.from({ length: 20_000 }, () => rng.triangular(5, 25, 50))
    expect(Math.min(...values)).toBeGreaterThanOrEqual(5)
    expect(Math.max(...values)).toBeLessThanOrEqual(50)
    expect(values.reduce((a, b) => a + b, 0) / values.length).toBeCloseTo(80 / 3, 0)
  })

  test('Poisson counts average their mean', () => {
    const rng = createRng(4, 'poisson')
    const counts = Array.from({ length: 20_000 }, () => rng.poisson(0.3))
    expect(counts.reduce((a, b) => a + b, 0) / counts.length).toBeCloseTo(0.3, 1)
    expect(rng.poisson(0)).toBe(0)
  })

  test('weighted choice follows the weights', () => {
    const rng = createRng(5, 'weighted')
    const items = [
      { id: 'a', weight: 0.7 },
      { id: 'b', weight: 0.3 },
    ]
    const picks = Array.from({ length: 20_000 }, () => rng.weighted(items, (i) => i.weight).id)
    expect(picks.filter((p) => p === 'a').length / picks.length).toBeCloseTo(0.7, 1)
  })
})
