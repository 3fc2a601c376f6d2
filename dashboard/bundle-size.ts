import { gzipSync } from 'node:zlib'
import type { Plugin } from 'vite'

// Reports what a first visit downloads: the entry chunk and every chunk it imports statically (the
// initial JavaScript of the performance budget), and each route's chunk closure on top of that.
// The numbers go to the build log and to dist/bundle-size.json for docs/benchmarks/dashboard.md.

/** Initial JavaScript budget of issue 7, gzipped. */
export const INITIAL_BUDGET_BYTES = 250 * 1024

interface ChunkInfo {
  code: string
  imports: string[]
  dynamicImports: string[]
  isEntry: boolean
  name: string
}

/** File names of `start` and everything it imports statically, transitively. */
export function staticClosure(chunks: ReadonlyMap<string, ChunkInfo>, start: string): Set<string> {
  const seen = new Set<string>()
  const stack = [start]
  while (stack.length > 0) {
    const file = stack.pop()!
    if (seen.has(file)) continue
    seen.add(file)
    stack.push(...(chunks.get(file)?.imports ?? []))
  }
  return seen
}

export function bundleSize(): Plugin {
  return {
    name: 'evmon-bundle-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks = new Map<string, ChunkInfo>()
      for (const [file, output] of Object.entries(bundle)) {
        if (output.type === 'chunk') chunks.set(file, output)
      }
      const gz = new Map([...chunks].map(([file, c]) => [file, gzipSync(c.code, { level: 9 }).length]))
      const sum = (files: Iterable<string>) => [...files].reduce((n, f) => n + (gz.get(f) ?? 0), 0)
      const entry = [...chunks].find(([, c]) => c.isEntry)
      if (!entry) return
      const initial = staticClosure(chunks, entry[0])
      const routes: Record<string, number> = {}
      for (const file of entry[1].dynamicImports) {
        const closure = staticClosure(chunks, file)
        for (const f of initial) closure.delete(f)
        routes[chunks.get(file)?.name ?? file] = sum(closure)
      }
      const report = {
        initial_js_gzip_bytes: sum(initial),
        budget_bytes: INITIAL_BUDGET_BYTES,
        route_js_gzip_bytes: routes,
        total_js_gzip_bytes: sum(chunks.keys()),
      }
      this.emitFile({
        type: 'asset',
        fileName: 'bundle-size.json',
        source: `${JSON.stringify(report, null, 2)}\n`,
      })
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
      const lines = Object.entries(routes).map(([name, n]) => `  + ${name}: ${kb(n)}`)
      console.log(
        `\ninitial JS (gzip): ${kb(report.initial_js_gzip_bytes)} of ${kb(INITIAL_BUDGET_BYTES)} budget\n` +
          `route chunks on top (gzip):\n${lines.join('\n')}\n`,
      )
      if (report.initial_js_gzip_bytes > INITIAL_BUDGET_BYTES) {
        this.error(
          `initial JS ${kb(report.initial_js_gzip_bytes)} exceeds the ${kb(INITIAL_BUDGET_BYTES)} budget`,
        )
      }
    },
  }
}
