// Seeded randomness. Every random decision of the simulator draws from a named stream derived from the
// run's seed, so adding a station or an arrival class later does not reshuffle the draws of the others.

/** A seeded pseudo-random stream: the same seed and stream name always give the same numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform in [min, max). */
  between(min: number, max: number): number
  /** True with probability `p`. */
  chance(p: number): boolean
  /** Triangular distribution on [min, max] with its peak at `mode`. */
  triangular(min: number, mode: number, max: number): number
  /** Poisson-distributed count with the given mean (Knuth's method: meant for small means). */
  poisson(mean: number): number
  /** One item, chosen with probability proportional to `weightOf(item)`. */
  weighted<T>(items: readonly T[], weightOf: (item: T) => number): T
}

const UINT32 = 4_294_967_296

// splitmix32: spreads a 32-bit seed into well-mixed words, the usual way to seed sfc32.
function splitmix32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

// FNV-1a: turns a stream name into 32 bits.
function hashName(name: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128-bit state, passes PractRand, and
// is plain 32-bit integer arithmetic, so results are identical on every JavaScript engine.
function sfc32(a: number, b: number, c: number, d: number): () => number {
  return () => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return (t >>> 0) / UINT32
  }
}

/**
 * Creates the random stream `stream` of run `seed` (an unsigned 32-bit integer).
 * Streams with different names are independent for all practical purposes.
 */
export function createRng(seed: number, stream = ''): Rng {
  const mixSeed = splitmix32(seed)
  const words = splitmix32(mixSeed() ^ hashName(stream))
  const next = sfc32(words(), words(), words(), words())
  // The first outputs of a freshly seeded sfc32 are still correlated with the seed.
  for (let i = 0; i < 12; i++) next()

  return {
    next,
    between: (min, max) => min + (max - min) * next(),
    chance: (p) => next() < p,
    triangular(min, mode, max) {
      if (max <= min) return min
      const u = next()
      const split = (mode - min) / (max - min)
      return u < split
        ? min + Math.sqrt(u * (max - min) * (mode - min))
        : max - Math.sqrt((1 - u) * (max - min) * (max - mode))
    },
    poisson(mean) {
      if (mean <= 0) return 0
      const limit = Math.exp(-mean)
      let k = 0
      let p = next()
      while (p > limit) {
        k++
        p *= next()
      }
      return k
    },
    weighted(items, weightOf) {
      const total = items.reduce((sum, item) => sum + weightOf(item), 0)
      let r = next() * total
      for (const item of items) {
        r -= weightOf(item)
        if (r < 0) return item
      }
      const last = items.at(-1)
      if (last === undefined) throw new Error('weighted() needs at least one item')
      return last
    },
  }
}
