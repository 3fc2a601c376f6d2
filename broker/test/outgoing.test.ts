import { Aedes } from 'aedes'
import { afterEach, expect, test } from 'vitest'
import { indexOutgoing, type OutgoingMethods, type OutgoingPacket } from '../src/outgoing.ts'

// The indexed queue must behave exactly as aedes' own in-memory one: every test runs the same
// operations against both and compares what they return and what they hold.

const brokers: Aedes[] = []
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => new Promise<void>((r) => b.close(() => r()))))
})

async function persistence(): Promise<OutgoingMethods> {
  const broker = await Aedes.createBroker()
  brokers.push(broker)
  return (broker as unknown as { persistence: OutgoingMethods }).persistence
}

async function both(): Promise<[bundled: OutgoingMethods, indexed: OutgoingMethods]> {
  const indexed = await persistence()
  indexOutgoing(indexed)
  return [await persistence(), indexed]
}

const client = (id: string) => ({ id })
const sub = (clientId: string) => ({ clientId })
// Shaped as aedes hands packets over (aedes-packet instances: every field present).
const publish = (brokerId: string, brokerCounter: number, messageId?: number) =>
  ({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.from(`${brokerCounter}`),
    qos: 1,
    retain: false,
    dup: false,
    brokerId,
    brokerCounter,
    messageId,
  }) as OutgoingPacket

async function queued(p: OutgoingMethods, id: string) {
  const out: unknown[] = []
  for await (const packet of p.outgoingStream(client(id)))
    out.push({ ...(packet as object), payload: String((packet as { payload?: Buffer }).payload) })
  return out
}

/** Runs `step` on both queues and checks both answered and now hold the same. */
async function same(
  pair: [OutgoingMethods, OutgoingMethods],
  step: (p: OutgoingMethods) => Promise<unknown>,
  clients = ['a', 'b'],
) {
  const answers = await Promise.all(
    pair.map((p) =>
      step(p).then(
        (v) => ({ v }),
        (e: Error) => ({ e: e.message }),
      ),
    ),
  )
  expect(answers[1]).toEqual(answers[0])
  for (const id of clients) expect(await queued(pair[1], id)).toEqual(await queued(pair[0], id))
  return answers[0]
}

test('enqueue, packet ids and acknowledgements in and out of order match the bundled queue', async () => {
  const pair = await both()
  for (let n = 1; n <= 6; n++)
    await same(pair, (p) => p.outgoingEnqueueCombi([sub('a'), sub('b')], publish('B', n)))
  for (let n = 1; n <= 6; n++)
    await same(pair, (p) => p.outgoingUpdate(client('a'), publish('B', n, 100 + n)))
  await same(pair, (p) => p.outgoingUpdate(client('b'), publish('B', 2, 7)))
  // Acknowledged out of order, twice, and one that was never sent.
  for (const id of [103, 101, 103, 999, 106])
    expect(await same(pair, (p) => p.outgoingClearMessageId(client('a'), { messageId: id }))).toBeDefined()
  expect(await queued(pair[1], 'a')).toHaveLength(3)
  // An update for a packet that is not queued fails in both.
  expect(await same(pair, (p) => p.outgoingUpdate(client('a'), publish('B', 42, 5)))).toEqual({
    e: 'no such packet',
  })
})

test('a reconnect re-numbers the queue; acknowledgements then apply to the oldest holder of an id', async () => {
  const pair = await both()
  for (let n = 1; n <= 4; n++) await same(pair, (p) => p.outgoingEnqueue(sub('a'), publish('B', n)))
  for (let n = 1; n <= 4; n++) await same(pair, (p) => p.outgoingUpdate(client('a'), publish('B', n, n)))
  // After a reconnect the broker hands out new ids from 1 again, in queue order.
  for (const [n, id] of [
    [3, 1],
    [4, 2],
  ])
    await same(pair, (p) => p.outgoingUpdate(client('a'), publish('B', n as number, id)))
  // Ids 1 and 2 are now held twice; each acknowledgement clears the oldest holder.
  for (const id of [1, 2, 1])
    await same(pair, (p) => p.outgoingClearMessageId(client('a'), { messageId: id }))
  expect(await queued(pair[1], 'a')).toHaveLength(1)
})

test("another broker's packet, a PUBREL and a packet without id are matched as the bundled queue does", async () => {
  const pair = await both()
  await same(pair, (p) => p.outgoingEnqueue(sub('a'), publish('B', 1)))
  await same(pair, (p) => p.outgoingEnqueue(sub('a'), publish('B', 2)))
  await same(pair, (p) => p.outgoingUpdate(client('a'), publish('B', 1, 9)))
  // A packet from another broker with a held id replaces the holder.
  await same(pair, (p) => p.outgoingUpdate(client('a'), publish('other', 77, 9)))
  // QoS 2: the PUBREL (no broker id) replaces the publish with the same id.
  await same(pair, (p) =>
    p.outgoingUpdate(client('a'), { messageId: 9, cmd: 'pubrel' } as unknown as OutgoingPacket),
  )
  // A queued packet aedes decides not to forward is cleared by the (absent) id it was never given.
  await same(pair, (p) => p.outgoingClearMessageId(client('a'), {}))
  expect(await queued(pair[1], 'a')).toEqual([expect.objectContaining({ cmd: 'pubrel', messageId: 9 })])
})

test('ten thousand random operations leave both queues answering and holding the same', async () => {
  const pair = await both()
  // A small deterministic generator (mulberry32), so a failure can be replayed.
  let state = 0x5eed
  const random = () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T
  let counter = 0
  for (let step = 0; step < 10_000; step++) {
    const r = random()
    // Few brokers, counters and ids, so that collisions (reused ids, a packet queued twice) are common.
    const brokerId = pick(['B', 'B', 'B', 'other'])
    const messageId = pick([undefined, 1, 2, 3, 4, 5, 6, 7, 8])
    const oneClient = [pick(['a', 'b'])]
    if (r < 0.3) {
      counter++
      const subs = random() < 0.5 ? [sub('a'), sub('b')] : [sub('a'), sub('a')]
      await same(pair, (p) => p.outgoingEnqueueCombi(subs, publish(brokerId, counter)), [])
    } else if (r < 0.6) {
      const c = Math.max(1, counter - Math.floor(random() * 8))
      await same(
        pair,
        (p) => p.outgoingUpdate(client(oneClient[0] as string), publish(brokerId, c, messageId)),
        [],
      )
    } else {
      await same(pair, (p) => p.outgoingClearMessageId(client(oneClient[0] as string), { messageId }), [])
    }
    if (step % 500 === 0)
      for (const id of ['a', 'b']) expect(await queued(pair[1], id)).toEqual(await queued(pair[0], id))
  }
  for (const id of ['a', 'b']) expect(await queued(pair[1], id)).toEqual(await queued(pair[0], id))
})
