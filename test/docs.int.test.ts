import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { repoRoot } from '../scripts/stack.ts'

// The README's configuration table is the operator's reference: a variable the code reads but the
// table does not list is a setting nobody can find.
const sources = [
  ...['broker', 'ingest', 'api', 'simulator'].flatMap((ws) =>
    readdirSync(join(repoRoot, ws, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'errors.ts')
      .map((f) => join(ws, 'src', f)),
  ),
  'scripts/run-stack.ts',
]
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const documented = new Set(readme.match(/`EVMON_[A-Z0-9_]+`/g)?.map((v) => v.slice(1, -1)))

test('every EVMON_* variable a service reads is in the README table', () => {
  const read = new Set<string>()
  for (const file of sources) {
    const text = readFileSync(join(repoRoot, file), 'utf8')
    // Variables are read as env.NAME, env['NAME'] or through a reader given the name as a string.
    for (const m of text.matchAll(/(?:env\.|['"`])(EVMON_[A-Z0-9_]+)/g)) read.add(m[1] as string)
  }
  expect(read.size).toBeGreaterThan(20)
  expect([...read].filter((v) => !documented.has(v)).sort()).toEqual([])
})
