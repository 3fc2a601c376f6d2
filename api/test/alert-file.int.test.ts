import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest'
import { AlertFileWriter, loadAlertEngine } from '../src/alerts/alert-file.ts'
import { decodeAlertState } from '../src/alerts/alert-state.ts'
import type { AlertEngine } from '../src/alerts/alert-engine.ts'
import { decoded } from './fixtures.ts'

// The alerts file on a real file system: loading, setting a bad file aside, and coalesced atomic saves.

const SITE = 'file-site'
const T0 = Date.UTC(2026, 10, 27, 3, 0, 0)
const DEBOUNCE_MS = 50

const dirs: string[] = []
let dir: string
let path: string
let warnings: string[]
const log = { warn: (message: string) => warnings.push(message) }

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'evmon-alert-file-'))
  dirs.push(dir)
  path = join(dir, 'api', 'alerts.json')
  warnings = []
})
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

/** Takes `count` stations offline: one alert each. */
function goOffline(engine: AlertEngine, count: number, from = 0): void {
  for (let i = from; i < from + count; i++)
    engine.observe(decoded(SITE, `st-${i}`, 'online', { online: false, ts: T0 }, T0), T0)
}

/** The stations whose alerts the file holds; throws if the file is not a valid alerts file. */
async function savedStations(): Promise<(string | null)[]> {
  const result = decodeAlertState(await readFile(path, 'utf8'))
  if (!result.ok) throw new Error(result.problem)
  return result.state.alerts.map((a) => a.station)
}

const exists = (file: string) =>
  readFile(file).then(
    () => true,
    () => false,
  )

/** An engine loaded from `path` and saved to it after each change, as the app wires them. */
async function persisted(): Promise<{ engine: AlertEngine; writer: AlertFileWriter }> {
  const engine = await loadAlertEngine(path, log, T0)
  const writer = new AlertFileWriter(path, engine, log, DEBOUNCE_MS)
  engine.subscribe(() => writer.schedule())
  return { engine, writer }
}

describe('alerts file', () => {
  test('a missing file is an empty start; a burst of changes is saved once the burst is over', async () => {
    const { engine, writer } = await persisted()
    expect(engine.list()).toEqual([])
    expect(warnings).toEqual([])
    goOffline(engine, 20)
    expect(await exists(path)).toBe(false)
    await vi.waitFor(async () => expect(await savedStations()).toHaveLength(20), { timeout: 2_000 })
    goOffline(engine, 1, 20)
    await vi.waitFor(async () => expect(await savedStations()).toContain('st-20'), { timeout: 2_000 })
    await writer.close()
    expect(await readdir(join(dir, 'api'))).toEqual(['alerts.json']) // no temporary file left behind
    expect(warnings).toEqual([])
  })

  test('closing saves the state at once, and a new engine loads it', async () => {
    const first = await persisted()
    goOffline(first.engine, 3)
    await first.writer.close()
    expect(await savedStations()).toEqual(['st-0', 'st-1', 'st-2'])
    goOffline(first.engine, 1, 3) // after the final save: not written
    await new Promise((resolve) => setTimeout(resolve, DEBOUNCE_MS * 3))
    expect(await savedStations()).toHaveLength(3)

    const second = await persisted()
    expect(second.engine.list({ active: true }).map((a) => a.station)).toEqual(['st-2', 'st-1', 'st-0'])
    await second.writer.close()
  })

  test('a corrupt file is set aside with a warning, and the engine starts empty and saves afresh', async () => {
    const first = await persisted()
    goOffline(first.engine, 2)
    await first.writer.close()
    const truncated = (await readFile(path, 'utf8')).slice(0, 100)
    await writeFile(path, truncated)

    const { engine, writer } = await persisted()
    expect(engine.list()).toEqual([])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(
      /alerts file .*alerts\.json is unusable \(not JSON: .*\); kept as .*, starting with no alerts/,
    )
    const aside = (await readdir(join(dir, 'api'))).filter((f) => f.startsWith('alerts.json.corrupt-'))
    expect(aside).toEqual(['alerts.json.corrupt-2026-11-27T030000000Z'])
    expect(await readFile(join(dir, 'api', aside[0] as string), 'utf8')).toBe(truncated)
    expect(await exists(path)).toBe(false)

    goOffline(engine, 1, 7)
    await writer.close()
    expect(await savedStations()).toEqual(['st-7'])
  })

  test('a failed save is logged, and the next change tries again', async () => {
    const { engine, writer } = await persisted()
    await writeFile(join(dir, 'api'), 'a file where the directory should be')
    goOffline(engine, 1)
    await vi.waitFor(() => expect(warnings).toEqual([expect.stringMatching(/alerts\.json not saved: /)]), {
      timeout: 2_000,
    })
    await rm(join(dir, 'api'))
    goOffline(engine, 1, 1)
    await vi.waitFor(async () => expect(await savedStations()).toEqual(['st-0', 'st-1']), { timeout: 2_000 })
    await writer.close()
  })
})
