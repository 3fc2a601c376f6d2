import { stationTopic } from '@evmon/contracts'
import { expect, test } from 'vitest'
import { WriteError } from '../src/line-writer.ts'
import { silentLogger } from '../src/log.ts'
import { Pipeline } from '../src/pipeline.ts'
import { fakeWriter, memorySpool, recordingDeadLetter, ticket } from './fakes.ts'
import { telemetry } from './helpers.ts'

function pipeline(
  deadLetterQuota: number,
  maxHeldMessages: number,
  writer = fakeWriter(),
  spool = memorySpool(),
) {
  const deadLetter = recordingDeadLetter(deadLetterQuota)
  const p = new Pipeline({
    writer,
    spool,
    deadLetter,
    logger: silentLogger,
    registerResetGapMs: 300_000,
    batchSizePoints: 1_000,
    flushIntervalMs: 10,
    maxConcurrentWrites: 1,
    maxPendingPoints: 10_000,
    maxHeldMessages,
    backoff: { initialMs: 1, maxMs: 1 },
  })
  return { p, writer, deadLetter }
}

const settle = () => new Promise((r) => setTimeout(r, 5))

test('a full dead-letter store holds the bad station’s rejects unacknowledged while good messages are acked', async () => {
  const { p, writer, deadLetter } = pipeline(2, 10)
  const now = Date.now()
  const bad = Array.from({ length: 5 }, () => ticket())
  const good = Array.from({ length: 3 }, () => ticket())
  for (const [i, t] of bad.entries()) {
    // A clock an hour ahead: ts_future.
    p.handle(
      stationTopic('beibei', 'kc-ac', 'telemetry'),
      Buffer.from(JSON.stringify(telemetry(now + 3_600_000, i))),
      t,
    )
  }
  for (const [i, t] of good.entries()) {
    p.handle(
      stationTopic('beibei', 'zn-super', 'telemetry'),
      Buffer.from(JSON.stringify(telemetry(now - 1_000 + i, i))),
      t,
    )
  }
  await p.flush()
  await settle()
  expect(good.map((t) => t.acked)).toEqual([true, true, true])
  expect(writer.stored).toHaveLength(9)
  // Two fitted the store and were acknowledged; the other three wait, held, and none is lost.
  expect(bad.map((t) => [t.acked, t.held])).toEqual([
    [true, false],
    [true, false],
    [false, true],
    [false, true],
    [false, true],
  ])
  expect(deadLetter.entries).toHaveLength(2)
  expect([...p.heldMessages]).toEqual([['kc-ac', 3]])
  expect(p.paused()).toBe(false)

  // Room appears: the held ones are stored in arrival order and only then acknowledged.
  deadLetter.makeRoom(10)
  await settle()
  expect(bad.map((t) => t.acked)).toEqual([true, true, true, true, true])
  expect(
    deadLetter.entries.map((e) => e.kind === 'message' && JSON.parse(Buffer.from(e.payload).toString()).seq),
  ).toEqual([0, 1, 2, 3, 4])
  expect([...p.heldMessages]).toEqual([])
})

test('reading pauses once as many rejects are held as allowed', async () => {
  const { p } = pipeline(0, 3)
  for (let i = 0; i < 3; i++) {
    expect(p.paused()).toBe(false)
    p.handle(stationTopic('beibei', 'kc-ac', 'telemetry'), Buffer.from('not json'), ticket())
    await settle()
  }
  expect(p.paused()).toBe(true)
})

test('a spooled batch whose points are beyond retention is consumed only once those lines are dead-lettered', async () => {
  let calls = 0
  const writer = fakeWriter((lines) => {
    // InfluxDB away for the first write (the batch is spooled), then back, refusing the old point.
    if (calls++ === 0) throw new WriteError('connect ECONNREFUSED', true)
    if (lines.some((l) => l.endsWith(' 1000')))
      throw new WriteError('partial write: points beyond retention policy dropped=1', false, 400)
  })
  const spool = memorySpool()
  const { p, deadLetter } = pipeline(0, 10, writer, spool)
  const outcome = await p.sink.store(
    [
      `event,site=beibei,station=zn-super,type=status x=1 1000`,
      `event,site=beibei,station=zn-super,type=status x=2 2000`,
    ],
    1000,
  )
  expect(outcome.spooled).toBe(2)
  await settle()
  // The store is full: the drained record stays in the spool until its refused line is durable.
  expect(spool.records).toHaveLength(1)
  expect(writer.stored).toEqual([`event,site=beibei,station=zn-super,type=status x=2 2000`])
  deadLetter.makeRoom(10)
  await settle()
  expect(spool.records).toHaveLength(0)
  expect(deadLetter.entries).toMatchObject([{ kind: 'line', reason: 'beyond_retention', status: 400 }])
  expect(p.counters.pointsDeadLettered).toEqual({ beyond_retention: 1, write_rejected: 0 })
})

test('held messages of a lost connection are forgotten: the broker delivers them again', async () => {
  const { p } = pipeline(0, 3)
  const tickets = Array.from({ length: 3 }, () => ticket())
  for (const t of tickets) {
    p.handle(stationTopic('beibei', 'kc-ac', 'telemetry'), Buffer.from('not json'), t)
    await settle()
  }
  expect([p.paused(), [...p.heldMessages]]).toEqual([true, [['kc-ac', 3]]])
  for (const t of tickets) t.cancelled = true
  expect([p.paused(), [...p.heldMessages]]).toEqual([false, []])
})
