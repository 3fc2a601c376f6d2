// The load generator of `npm run bench -- api`, run by bench/api.ts as a fresh child process per
// measurement: autocannon parses every answer, and in the bench process it shared a heap grown by
// writing the rollups (its garbage collections then slowed the client, and so the rows with larger
// answers). Takes autocannon's options as JSON in `process.argv[2]`; warms the route up for
// `warmupS` seconds unless the run is a fixed number of requests; sends the result to the parent.
import { createRequire } from 'node:module'
import { startGate } from './lib-child.ts'

export interface LoadSpec {
  options: Record<string, unknown>
  warmupS: number
  /** Wait at the start gate (bench/lib-child.ts `gatedChild`) after the warm-up, before the run. */
  gate?: boolean
}

export interface LoadResult {
  latency: { p50: number; p99: number; max: number }
  requests: { average: number }
  non2xx: number
  errors: number
}

// autocannon ships no types; only the fields read above are relied on.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: Record<string, unknown>,
) => Promise<LoadResult>

const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec
if (!('amount' in spec.options) && spec.warmupS > 0)
  await autocannon({ ...spec.options, duration: spec.warmupS })
// Behind a gate the warm-up comes first: the server's first answers of a route (its code compiled
// and optimised) fall before the measured window too.
await startGate(spec)
const r = await autocannon(spec.options)
const result: LoadResult = {
  latency: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max },
  requests: { average: r.requests.average },
  non2xx: r.non2xx,
  errors: r.errors,
}
process.send?.(result, () => process.disconnect())
