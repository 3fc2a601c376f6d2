import { expect, test } from 'vitest'
import { writeBatch } from '../src/batch-writer.ts'
import { WriteError, type LineWriter } from '../src/line-writer.ts'
import { fakeWriter } from './fakes.ts'

type Behaviour = (lines: readonly string[], call: number) => void

const refuseLinesContaining =
  (marker: string): Behaviour =>
  (lines) => {
    if (lines.some((l) => l.includes(marker)))
      throw new WriteError('partial write: field type conflict', false, 400)
  }

const lines = (n: number, bad: number[] = []) =>
  Array.from({ length: n }, (_, i) => (bad.includes(i) ? `bad ${i}` : `good ${i}`))

const options = (writer: LineWriter, sleeps: number[] = []) => ({
  writer,
  backoff: { initialMs: 100, maxMs: 1_000 },
  sleep: async (ms: number) => {
    sleeps.push(ms)
  },
  random: () => 1,
})

test('a clean batch is written in one request', async () => {
  const writer = fakeWriter(() => {})
  const result = await writeBatch(lines(100), options(writer))
  expect(result).toEqual({ written: 100, rejected: [] })
  expect(writer.calls).toBe(1)
})

test('one refused line is isolated and every other line is stored', async () => {
  const writer = fakeWriter(refuseLinesContaining('bad'))
  const input = lines(1_000, [637])
  const result = await writeBatch(input, options(writer))
  expect(result.written).toBe(999)
  expect(result.rejected).toEqual([
    { line: 'bad 637', detail: 'partial write: field type conflict', status: 400 },
  ])
  expect(new Set(writer.stored)).toEqual(new Set(input.filter((l) => l !== 'bad 637')))
  // About two requests per halving, not one per line.
  expect(writer.calls).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(1_000)) + 1)
})

test('several refused lines anywhere in the batch are all isolated', async () => {
  const writer = fakeWriter(refuseLinesContaining('bad'))
  const bad = [0, 1, 50, 98, 99]
  const result = await writeBatch(lines(100, bad), options(writer))
  expect(result.written).toBe(95)
  expect(result.rejected.map((r) => r.line)).toEqual(bad.map((i) => `bad ${i}`))
})

test('a batch of refused lines only is rejected line by line', async () => {
  const writer = fakeWriter(refuseLinesContaining('bad'))
  const result = await writeBatch(['bad a', 'bad b', 'bad c'], options(writer))
  expect(result).toMatchObject({
    written: 0,
    rejected: [{ line: 'bad a' }, { line: 'bad b' }, { line: 'bad c' }],
  })
})

test('server and network failures are retried with growing delays, keeping the whole batch', async () => {
  const writer = fakeWriter((_lines, call) => {
    if (call < 4)
      throw new WriteError(
        call % 2 ? 'Internal Server Error' : 'ECONNREFUSED',
        true,
        call % 2 ? 500 : undefined,
      )
  })
  const sleeps: number[] = []
  const failures: (number | undefined)[] = []
  const result = await writeBatch(lines(10), {
    ...options(writer, sleeps),
    events: { succeeded: () => {}, failed: (_e, _n, retryInMs) => failures.push(retryInMs) },
  })
  expect(result).toEqual({ written: 10, rejected: [] })
  expect(writer.stored).toEqual(lines(10))
  expect(sleeps).toEqual([100, 200, 400, 800])
  expect(failures).toEqual(sleeps)
})

test('aborting stops the retries and rejects with the reason', async () => {
  const controller = new AbortController()
  const writer = fakeWriter(() => {
    throw new WriteError('Internal Server Error', true, 500)
  })
  let attempts = 0
  const pending = writeBatch(lines(3), {
    ...options(writer),
    signal: controller.signal,
    sleep: async () => {
      if (++attempts === 3) controller.abort(new Error('closing'))
    },
  })
  await expect(pending).rejects.toThrow('closing')
  expect(writer.stored).toEqual([])
})

test('an error that is not a write error propagates', async () => {
  const writer = fakeWriter(() => {
    throw new TypeError('bug')
  })
  await expect(writeBatch(lines(2), options(writer))).rejects.toThrow('bug')
})
