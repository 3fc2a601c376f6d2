import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { declaredVariables, difference, generatedFiles, renderReadme } from '../scripts/env-docs.ts'
import { repoRoot } from '../scripts/stack.ts'

// The README's configuration table and .env.example are the operator's reference. Both are generated
// from the services' declarations (scripts/env-docs.ts), so they must be up to date, and every
// variable the code reads must be declared: a variable read outside the declarations is a setting
// nobody can find.
const sources = [
  ...['runtime', 'broker', 'ingest', 'api', 'simulator'].flatMap((ws) =>
    readdirSync(join(repoRoot, ws, 'src'))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'errors.ts')
      .map((f) => join(ws, 'src', f)),
  ),
  'scripts/run-stack.ts',
  'scripts/stack.ts',
  'scripts/healthcheck.mjs',
]

test('README.md and .env.example match the declarations (npm run docs:env)', async () => {
  for (const { path, current, expected } of await generatedFiles()) {
    expect(
      current === expected,
      `${path} is out of date; run npm run docs:env:\n${difference(current, expected)}`,
    ).toBe(true)
  }
})

test('a hand-edited table is put back by the generator', async () => {
  const path = join(repoRoot, 'README.md')
  const readme = readFileSync(path, 'utf8')
  const edited = readme.replace(
    /^\| `EVMON_HTTP_PORT` .*\n/m,
    '| `EVMON_HTTP_PORT` | `80` | api | edited |\n',
  )
  expect(edited).not.toBe(readme)
  expect(await renderReadme(edited, path)).toBe(readme)
  expect(difference(edited, readme)).toContain('- | `EVMON_HTTP_PORT` | `80` | api | edited |')
})

test('npm run docs:env -- --check passes', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/env-docs.ts', '--check'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
})

test('every EVMON_* variable a service reads is declared in some schema', () => {
  const declared = declaredVariables()
  const read = new Set<string>()
  for (const file of sources) {
    const text = readFileSync(join(repoRoot, file), 'utf8')
    // Variables are read as env.NAME, env['NAME'] or through a reader given the name as a string.
    for (const m of text.matchAll(/(?:env\.|['"`])(EVMON_[A-Z0-9_]+)/g)) read.add(m[1] as string)
  }
  expect(read.size).toBeGreaterThan(20)
  expect([...read].filter((v) => !declared.has(v)).sort()).toEqual([])
})
