import { expect, test } from 'vitest'
import { DurableSink } from '../src/durable-sink.ts'
import { WriteError } from '../src/line-writer.ts'
import { fakeWriter, memorySpool } from './fakes.ts'

function sink(writerDown: () => boolean, spool = memorySpool()) {
  const writer = fakeWriter(() => {
    if (writerDown()) throw new WriteError('connect ECONNREFUSED', true)
  })
  const drained: number[] = []
  const failures: (number | undefined)[] = []
  const aborter = new AbortController()
  const s = new DurableSink({
    writer,
    spool,
    backoff: { initialMs: 1, maxMs: 2 },
    events: {
      succeeded: () => {},
      failed: (_e, _n, retryIn) => failures.push(retryIn),
      drained: async (written) => {
        drained.push(written)
      },
    },
    signal: aborter.signal,
  })
  return { s, writer, spool, drained, failures, aborter }
}

test('batches go straight to InfluxDB while it answers', async () => {
  const { s, writer, spool } = sink(() => false)
  expect(await s.store(['a 1', 'b 2'], 0)).toEqual({ written: 2, spooled: 0, rejected: [] })
  expect([writer.stored, spool.records]).toEqual([['a 1', 'b 2'], []])
})

test('during an outage batches are spooled in order and drained in that order once InfluxDB is back', async () => {
  let down = true
  const { s, writer, spool, drained } = sink(() => down)
  expect(await s.store(['a'], 1)).toEqual({ written: 0, spooled: 1, rejected: [] })
  expect(s.isSpooling).toBe(true)
  // Behind the spool, even though no write is tried for them.
  expect(await s.store(['b'], 2)).toMatchObject({ spooled: 1 })
  expect(await s.store(['c'], 3)).toMatchObject({ spooled: 1 })
  expect(writer.stored).toEqual([])
  down = false
  await expect.poll(() => spool.records.length).toBe(0)
  expect(writer.stored).toEqual(['a', 'b', 'c'])
  expect(drained).toEqual([1, 1, 1])
  await expect.poll(() => s.isSpooling).toBe(false)
  expect(await s.store(['d'], 4)).toMatchObject({ written: 1 })
  await s.close()
})

test('with the spool full a batch waits, unacknowledged, until draining frees room', async () => {
  let down = true
  const { s, writer, spool } = sink(() => down, memorySpool(1))
  await s.store(['a'], 1)
  let settled = false
  const waiting = s.store(['b'], 2).then((outcome) => {
    settled = true
    return outcome
  })
  await new Promise((r) => setTimeout(r, 20))
  expect([settled, spool.stats().full]).toEqual([false, true])
  down = false
  expect(await waiting).toMatchObject({ spooled: 1 })
  await expect.poll(() => writer.stored).toEqual(['a', 'b'])
  await s.close()
})

test('a leftover spool from an earlier run drains at once', async () => {
  const spool = memorySpool()
  await spool.append({ lines: ['old 1'], oldestTs: 5 })
  const { writer, s } = sink(() => false, spool)
  await expect.poll(() => writer.stored).toEqual(['old 1'])
  await s.close()
})

test('close stops draining and leaves the rest on disk', async () => {
  const { s, spool, failures } = sink(() => true)
  await s.store(['a'], 1)
  await expect.poll(() => failures.length).toBeGreaterThan(2)
  await s.close()
  expect(spool.records).toEqual([{ lines: ['a'], oldestTs: 1 }])
})
