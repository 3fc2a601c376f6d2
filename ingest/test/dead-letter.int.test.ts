import { appendFileSync, mkdirSync, mkdtempSync, rmdirSync } from 'node:fs'
import { readFile, rename, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { openDeadLetter, readDeadLetterFile, type DeadLetterEntry } from '../src/dead-letter.ts'
import { silentLogger, type Logger } from '../src/log.ts'

const entry = (i: number, station = 'zn-super'): DeadLetterEntry & { kind: 'message' } => ({
  kind: 'message',
  reason: 'schema',
  detail: `/meter: required (${i})`,
  topic: `evmon/v1/beibei/${station}/telemetry`,
  receivedAt: 1_742_869_800_000 + i,
  payload: Buffer.from(JSON.stringify({ v: 1, i, pad: 'x'.repeat(200) })),
})

// Complete records only: another append may be half-way through writing the last line.
const lines = async (path: string) =>
  (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as { receivedAt: number; id: string })

const tmpPath = () => join(mkdtempSync(join(tmpdir(), 'evmon-dl-')), 'nested', 'dead-letter.ndjson')

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (msg: string) => void lines.push(msg)
  return { lines, info: log, warn: log, error: log }
}

test('each append is on disk when it resolves, in order, with a unique id', async () => {
  const path = tmpPath()
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  const results = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const result = await dl.append(entry(i))
      // Resolved means durable: the record is in the file now, not in a queue.
      const onDisk = (await lines(path)).map((l) => l.receivedAt)
      expect(onDisk).toContain(entry(i).receivedAt)
      return result
    }),
  )
  expect(results).toEqual(Array(50).fill('stored'))
  const kept = await lines(path)
  expect(kept.map((l) => l.receivedAt)).toEqual(Array.from({ length: 50 }, (_, i) => entry(i).receivedAt))
  expect(new Set(kept.map((l) => l.id)).size).toBe(50)
  expect(dl.stats()).toMatchObject({ written: 50, full: false, writeErrors: 0 })
  await dl.close()
})

test('past the quota an append is refused with full, nothing is rotated away, and 80% warns first', async () => {
  const path = tmpPath()
  const logger = recordingLogger()
  const one = Buffer.byteLength(
    `${JSON.stringify({ ...entry(0), payload: undefined })}`, // about the size of one record
  )
  const maxBytes = 20 * one
  const dl = await openDeadLetter({ path, maxBytes, logger })
  const results: string[] = []
  for (let i = 0; i < 40; i++) results.push(await dl.append(entry(i)))
  const stored = results.filter((r) => r === 'stored').length
  expect(stored).toBeGreaterThan(0)
  // Stored ones first, then only refusals: nothing after the first refusal was written.
  expect(results).toEqual([...Array(stored).fill('stored'), ...Array(40 - stored).fill('full')])
  expect((await stat(path)).size).toBeLessThanOrEqual(maxBytes)
  expect((await lines(path)).map((l) => l.receivedAt)).toEqual(
    Array.from({ length: stored }, (_, i) => entry(i).receivedAt),
  )
  expect(dl.stats()).toMatchObject({ written: stored, full: true, warning: true, maxBytes })
  const warn = logger.lines.findIndex((l) => l.includes('80%'))
  const full = logger.lines.findIndex((l) => l.includes('dead-letter store full'))
  expect(warn).toBeGreaterThanOrEqual(0)
  expect(full).toBeGreaterThan(warn)
  await dl.close()
})

test('room returns when an engineer archives the file', async () => {
  const path = tmpPath()
  const dl = await openDeadLetter({ path, maxBytes: 2_000, logger: silentLogger })
  while ((await dl.append(entry(1))) === 'stored');
  const room = dl.roomFreed()
  await rename(path, `${path}.archived`)
  await room
  expect(dl.stats()).toMatchObject({ full: false, bytes: 0 })
  expect(await dl.append(entry(2))).toBe('stored')
  expect((await lines(path)).map((l) => l.receivedAt)).toEqual([entry(2).receivedAt])
  await dl.close()
})

test('a disk that refuses writes rejects the append, counts it, and wakes waiters to try again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-dl-'))
  const path = join(dir, 'dead-letter.ndjson')
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  mkdirSync(path) // appending to a directory fails with EISDIR
  const retry = dl.roomFreed()
  await expect(dl.append(entry(1))).rejects.toThrow()
  expect(dl.stats()).toMatchObject({ written: 0, writeErrors: 1 })
  // Whoever holds a message for want of a durable record is woken to try again once the disk is back.
  rmdirSync(path)
  await retry
  expect(await dl.append(entry(1))).toBe('stored')
  await dl.close()
})

test('an existing file counts towards the quota after a restart', async () => {
  const path = tmpPath()
  const first = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  for (let i = 0; i < 8; i++) await first.append(entry(i))
  await first.close()
  const size = (await stat(path)).size
  const second = await openDeadLetter({ path, maxBytes: size + 10, logger: silentLogger })
  expect(second.stats().bytes).toBe(size)
  expect(await second.append(entry(9))).toBe('full')
  await second.close()
})

test('reading the file gives records, redrive marks, and skips a line torn by a crash', async () => {
  const path = tmpPath()
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  await dl.append(entry(1))
  await dl.append(entry(2, 'kc-fast-1'))
  await dl.close()
  const [first] = await lines(path)
  appendFileSync(
    path,
    `${JSON.stringify({ kind: 'redriven', id: first?.id, redrivenAt: 1, shiftMs: 0, points: 3 })}\n{"kind":"mess`,
  )
  const { records, redriven, torn } = await readDeadLetterFile(path)
  expect(records.map((r) => [r.station, r.reason])).toEqual([
    ['zn-super', 'schema'],
    ['kc-fast-1', 'schema'],
  ])
  expect([...redriven.keys()]).toEqual([first?.id])
  expect(torn).toBe(1)
})

test('a record left half-written by a crash is cut off at open, so the next one starts on its own line', async () => {
  const path = tmpPath()
  const first = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  await first.append(entry(1))
  await first.close()
  const complete = (await stat(path)).size
  appendFileSync(path, '{"kind":"message","id":"torn","rea')
  const second = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  expect(second.stats().bytes).toBe(complete)
  await second.append(entry(2))
  await second.close()
  const { records, torn } = await readDeadLetterFile(path)
  expect([records.map((r) => r.kind === 'message' && r.receivedAt), torn]).toEqual([
    [entry(1).receivedAt, entry(2).receivedAt],
    0,
  ])
})

test('a file archived while the store has room is started afresh, and its size counted from disk', async () => {
  const path = tmpPath()
  const dl = await openDeadLetter({ path, maxBytes: 1_000_000, logger: silentLogger })
  for (let i = 0; i < 5; i++) await dl.append(entry(i))
  await rename(path, `${path}.archived`)
  await dl.append(entry(5))
  expect((await lines(path)).map((l) => l.receivedAt)).toEqual([entry(5).receivedAt])
  expect(dl.stats().bytes).toBe((await stat(path)).size)
  await dl.close()
})
