import { expect, test } from 'vitest'
import { silentLogger } from '../src/log.ts'
import { Pipeline } from '../src/pipeline.ts'
import { corpusBaseline, malformedCorpus } from './corpus.ts'
import { fakeWriter, memorySpool, recordingDeadLetter, ticket } from './fakes.ts'

test('every kind of malformed message in the corpus is refused with its reason and writes nothing', async () => {
  const now = Date.now()
  const corpus = malformedCorpus(now)
  expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length)
  expect(corpus.length).toBeGreaterThanOrEqual(50)

  const writer = fakeWriter()
  const deadLetter = recordingDeadLetter()
  const pipeline = new Pipeline({
    writer,
    spool: memorySpool(),
    deadLetter,
    logger: silentLogger,
    registerResetGapMs: 300_000,
    batchSizePoints: 1_000,
    flushIntervalMs: 10,
    maxConcurrentWrites: 1,
    maxPendingPoints: 10_000,
    maxHeldMessages: 100,
    backoff: { initialMs: 1, maxMs: 1 },
  })
  const acked: string[] = []
  const baseline = corpusBaseline(now)
  pipeline.handle(
    baseline.topic,
    Buffer.from(baseline.payload),
    ticket(() => acked.push('baseline')),
  )
  for (const c of corpus) {
    const before = { ...pipeline.counters.messagesRejected }
    pipeline.handle(
      c.topic,
      Buffer.from(c.payload),
      ticket(() => acked.push(c.name)),
    )
    const changed = Object.entries(pipeline.counters.messagesRejected).filter(
      ([reason, n]) => n !== before[reason as keyof typeof before],
    )
    expect([c.name, changed]).toEqual([c.name, [[c.reason, before[c.reason] + 1]]])
  }
  await pipeline.flush()
  // Rejections are acknowledged once their dead-letter record is durable, a turn of the event loop later.
  await new Promise((r) => setImmediate(r))

  // Only the baseline's station point and two connector points were written; every message acked.
  expect(writer.stored).toHaveLength(3)
  expect(acked.sort()).toEqual(['baseline', ...corpus.map((c) => c.name)].sort())
  expect(deadLetter.entries.map((e) => e.kind === 'message' && e.reason)).toEqual(corpus.map((c) => c.reason))
})
