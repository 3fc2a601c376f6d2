import { mkdirSync, mkdtempSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { openDeadLetter, type DeadLetterEntry } from '../src/dead-letter.ts'
import { silentLogger } from '../src/log.ts'

const entry = (i: number): DeadLetterEntry & { kind: 'message' } => ({
  kind: 'message',
  reason: 'schema',
  detail: `/meter: required (${i})`,
  topic: 'evmon/v1/beibei/zn-super/telemetry',
  receivedAt: 1_742_869_800_000 + i,
  payload: Buffer.from(JSON.stringify({ v: 1, i, pad: 'x'.repeat(200) })),
})

const lines = async (path: string) =>
  (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { receivedAt: number })

test('entries are appended as NDJSON in the order recorded, creating the directory', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'evmon-dl-')), 'nested', 'dead-letter.ndjson')
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  for (let i = 0; i < 50; i++) dl.record(entry(i))
  await dl.close()
  expect((await lines(path)).map((l) => l.receivedAt)).toEqual(
    Array.from({ length: 50 }, (_, i) => entry(i).receivedAt),
  )
  expect(dl.stats()).toEqual({ written: 50, dropped: 0 })
})

test('the file rotates at the cap, so disk use stays under twice the cap and the newest entries survive', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'evmon-dl-')), 'dead-letter.ndjson')
  const maxBytes = 4_096
  const dl = await openDeadLetter({ path, maxBytes, logger: silentLogger })
  const n = 200
  for (let i = 0; i < n; i++) {
    dl.record(entry(i))
    // Spread over several appends, as messages arrive in real life.
    if (i % 7 === 0) await new Promise((r) => setImmediate(r))
  }
  await dl.close()
  expect((await stat(path)).size).toBeLessThanOrEqual(maxBytes)
  expect((await stat(`${path}.1`)).size).toBeLessThanOrEqual(maxBytes)
  const kept = [...(await lines(`${path}.1`)), ...(await lines(path))].map((l) => l.receivedAt)
  expect(kept.length).toBeGreaterThan(0)
  // What is kept is the most recent, contiguous tail.
  expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => entry(n - kept.length + i).receivedAt))
})

test('a disk that refuses writes is counted, never thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-dl-'))
  const path = join(dir, 'dead-letter.ndjson')
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  mkdirSync(path) // appending to a directory fails with EISDIR
  dl.record(entry(1))
  dl.record(entry(2))
  await dl.close()
  expect(dl.stats()).toEqual({ written: 0, dropped: 2 })
})

test('an existing file counts towards the cap after a restart', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'evmon-dl-')), 'dead-letter.ndjson')
  const maxBytes = 4_096
  const first = await openDeadLetter({ path, maxBytes, logger: silentLogger })
  for (let i = 0; i < 8; i++) first.record(entry(i))
  await first.close()
  const before = (await stat(path)).size
  expect(before).toBeLessThan(maxBytes)
  expect(before * 2).toBeGreaterThan(maxBytes)
  const second = await openDeadLetter({ path, maxBytes, logger: silentLogger })
  for (let i = 8; i < 16; i++) second.record(entry(i))
  await second.close()
  // Together the two runs pass the cap (each alone does not), so the first run's entries were rotated out of the way.
  expect((await stat(path)).size).toBeLessThanOrEqual(maxBytes)
  expect((await lines(`${path}.1`))[0]?.receivedAt).toBe(entry(0).receivedAt)
})
