// `npm run bench -- <name> [args…]`: runs bench/<name>.ts, which prints its figures.
// Benchmarks target loopback only and stop by themselves; see docs/benchmarks.md for results.
import { readdirSync } from 'node:fs'

const available = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('lib'))
  .map((f) => f.slice(0, -3))
const [name, ...args] = process.argv.slice(2)
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args…]`)
  process.exit(name ? 2 : 0)
}
const bench = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> }
await bench.default(args)
