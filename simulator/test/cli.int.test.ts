import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeMessage } from '@evmon/contracts'
import { afterAll, describe, expect, test } from 'vitest'

const repoRoot = fileURLToPath(new URL('../..', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'evmon-sim-'))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

// `npm run sim` is `tsx simulator/src/main.ts`; the loader form runs the same entry without npm.
function sim(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'simulator/src/main.ts', ...args],
      { cwd: repoRoot, env: { PATH: process.env.PATH ?? '', ...env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    )
  })
}

afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the simulator command line', () => {
  test('a dry run writes every message it would publish as valid NDJSON', async () => {
    const out = join(dir, 'ten-minutes.ndjson')
    const run = await sim([
      '--dry-run',
      '--out',
      out,
      '--duration',
      '600',
      '--seed',
      '3',
      '--start',
      '2025-03-25T12:00:00+08:00',
    ])
    expect(run.stderr).toMatch(/dry run wrote \d+ messages/)
    expect(run.code).toBe(0)
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n')
    const records = lines.map(
      (line) => JSON.parse(line) as { topic: string; payload: { ts?: number }; retain: boolean },
    )
    for (const r of records) {
      expect(Object.keys(r).sort()).toEqual(['payload', 'retain', 'topic'])
      const result = decodeMessage(r.topic, Buffer.from(JSON.stringify(r.payload)), r.payload.ts ?? 0)
      expect(result, r.topic).toMatchObject({ ok: true })
    }
    expect(records.filter((r) => r.topic.endsWith('/telemetry'))).toHaveLength(4 * 600)
    expect(records.filter((r) => r.topic.endsWith('/meta') && r.retain)).toHaveLength(4)
  })

  test('the same seed writes the same file; the environment supplies the seed when no flag does', async () => {
    const a = join(dir, 'a.ndjson')
    const b = join(dir, 'b.ndjson')
    const args = ['--dry-run', '--duration', '120', '--start', '2025-03-25T12:00:00+08:00']
    await sim([...args, '--out', a, '--seed', '8'])
    await sim([...args, '--out', b], { EVMON_SIM_SEED: '8' })
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(b, 'utf8'))
  })

  test('a dry run without --out writes to standard output', async () => {
    const run = await sim(['--dry-run', '--duration', '5', '--start', '2025-03-25T12:00:00+08:00'])
    expect(run.code).toBe(0)
    expect(
      run.stdout
        .trimEnd()
        .split('\n')
        .filter((l) => l.includes('/telemetry"')),
    ).toHaveLength(20)
  })

  test('every bad variable is printed at once and the exit code is non-zero', async () => {
    const run = await sim([], { EVMON_MQTT_URL: 'nope', EVMON_SIM_SEED: 'x', EVMON_SIM_SPEED: '-3' })
    expect(run.code).toBe(2)
    for (const name of ['EVMON_MQTT_URL', 'EVMON_SIM_SEED', 'EVMON_SIM_SPEED'])
      expect(run.stderr).toContain(name)
  })

  test('a broken site file is explained, problem by problem', async () => {
    const site = join(dir, 'broken.json')
    writeFileSync(site, JSON.stringify({ id: 'Bad Id' }))
    const run = await sim(['--dry-run', '--site', site, '--duration', '1'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${site} is not a valid site config`)
    expect(run.stderr).toMatch(/- \/name: /)
    expect(run.stderr).toMatch(/- \/stations: /)
  })

  test('--help lists the flags and variables', async () => {
    const run = await sim(['--help'])
    expect(run.code).toBe(0)
    for (const text of ['--dry-run', '--speed', 'EVMON_SIM_SEED', 'EVMON_MQTT_URL'])
      expect(run.stdout).toContain(text)
  })
})
