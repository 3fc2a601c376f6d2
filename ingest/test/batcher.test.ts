import { afterEach, beforeEach, expect, test, vi } from 'vitest'
import { Batcher } from '../src/batcher.ts'

interface Write {
  entries: string[]
  finish(): void
  fail(err: Error): void
}

function harness(
  options: { batchSizePoints?: number; flushIntervalMs?: number; maxConcurrentWrites?: number } = {},
) {
  const writes: Write[] = []
  const errors: unknown[] = []
  const batcher = new Batcher<string>({
    batchSizePoints: options.batchSizePoints ?? 10,
    flushIntervalMs: options.flushIntervalMs ?? 1_000,
    maxConcurrentWrites: options.maxConcurrentWrites ?? 2,
    write: (entries) =>
      new Promise<void>((resolve, reject) => writes.push({ entries, finish: resolve, fail: reject })),
    onWriteError: (err) => errors.push(err),
  })
  return { batcher, writes, errors }
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

test('a batch is written as soon as it reaches the size', () => {
  const { batcher, writes } = harness({ batchSizePoints: 10 })
  batcher.add('a', 4)
  batcher.add('b', 4)
  expect(writes).toHaveLength(0)
  batcher.add('c', 3)
  expect(writes.map((w) => w.entries)).toEqual([['a', 'b', 'c']])
})

test('a partial batch is written when the flush interval after its first entry has passed', () => {
  const { batcher, writes } = harness({ flushIntervalMs: 1_000 })
  batcher.add('a', 1)
  vi.advanceTimersByTime(600)
  batcher.add('b', 1)
  vi.advanceTimersByTime(399)
  expect(writes).toHaveLength(0)
  vi.advanceTimersByTime(1)
  expect(writes.map((w) => w.entries)).toEqual([['a', 'b']])
})

test('a partial batch whose interval passed while every slot was busy keeps filling, then goes out as one', async () => {
  const { batcher, writes } = harness({ batchSizePoints: 100, flushIntervalMs: 100, maxConcurrentWrites: 1 })
  batcher.add('a', 1)
  vi.advanceTimersByTime(100)
  expect(writes.map((w) => w.entries)).toEqual([['a']])
  // The only slot is busy: the next batch's interval passes, and it is not sealed into a queue of small ones.
  batcher.add('b', 1)
  vi.advanceTimersByTime(100)
  batcher.add('c', 1)
  vi.advanceTimersByTime(300)
  batcher.add('d', 1)
  expect(writes).toHaveLength(1)
  writes[0]?.finish()
  await vi.advanceTimersByTimeAsync(0)
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b', 'c', 'd']])
  // A batch that fills up while waiting is still sealed by size at once.
  for (const e of ['e', 'f']) batcher.add(e, 1)
  vi.advanceTimersByTime(100)
  batcher.add('big', 100)
  writes[1]?.finish()
  await vi.advanceTimersByTimeAsync(0)
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f', 'big']])
})

test('the entries of one message are never split across batches', () => {
  const { batcher, writes } = harness({ batchSizePoints: 10 })
  batcher.add('small', 8)
  batcher.add('big', 5)
  expect(writes.map((w) => w.entries)).toEqual([['small', 'big']])
  expect(batcher.pendingPoints).toBe(13)
})

test('no more batches than allowed are written at once; the others wait their turn in order', async () => {
  const { batcher, writes } = harness({ batchSizePoints: 1, maxConcurrentWrites: 2 })
  for (const e of ['a', 'b', 'c', 'd']) batcher.add(e, 1)
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b']])
  writes[1]?.finish()
  await vi.advanceTimersByTimeAsync(0)
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b'], ['c']])
  expect(batcher.pendingPoints).toBe(3)
})

test('flush writes the partial batch and waits for every write', async () => {
  const { batcher, writes } = harness({ batchSizePoints: 2, maxConcurrentWrites: 1 })
  batcher.add('a', 2)
  batcher.add('b', 1)
  let flushed = false
  const flushing = batcher.flush().then(() => (flushed = true))
  expect(writes.map((w) => w.entries)).toEqual([['a']])
  writes[0]?.finish()
  await vi.advanceTimersByTimeAsync(0)
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b']])
  expect(flushed).toBe(false)
  writes[1]?.finish()
  await flushing
  expect(batcher.pendingPoints).toBe(0)
})

test('flush with nothing pending resolves at once', async () => {
  const { batcher } = harness()
  await expect(batcher.flush()).resolves.toBeUndefined()
})

test('a failed write is reported and frees its slot', async () => {
  const { batcher, writes, errors } = harness({ batchSizePoints: 1, maxConcurrentWrites: 1 })
  batcher.add('a', 1)
  batcher.add('b', 1)
  writes[0]?.fail(new Error('aborted'))
  await vi.advanceTimersByTimeAsync(0)
  expect(errors).toEqual([new Error('aborted')])
  expect(writes.map((w) => w.entries)).toEqual([['a'], ['b']])
})
