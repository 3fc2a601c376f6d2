import { expect, test } from 'vitest'
import { AckQueue } from '../src/ack-queue.ts'

test('acknowledgements leave in arrival order, each once its predecessors are done', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const [a, b, c] = [queue.enqueue(1), queue.enqueue(2), queue.enqueue(3)]
  c.ack()
  b.ack()
  expect(sent).toEqual([])
  a.ack()
  expect(sent).toEqual([1, 2, 3])
  expect(queue.size).toBe(0)
})

test('acknowledging twice sends one PUBACK', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const ticket = queue.enqueue(7)
  ticket.ack()
  ticket.ack()
  expect(sent).toEqual([7])
})

test('QoS 0 messages hold their place without sending anything', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const qos0 = queue.enqueue(undefined)
  queue.enqueue(4).ack()
  expect(sent).toEqual([])
  qos0.ack()
  expect(sent).toEqual([4])
})

test('after a reset, tickets from the lost connection send nothing and block nothing', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const stale = queue.enqueue(1)
  queue.reset()
  const fresh = queue.enqueue(1)
  stale.ack()
  expect(sent).toEqual([])
  fresh.ack()
  expect(sent).toEqual([1])
})

test('a long run of acknowledgements keeps the count right across compaction', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const tickets = Array.from({ length: 5_000 }, (_, i) => queue.enqueue(i % 65_535))
  for (const t of tickets.slice(0, 3_000)) t.ack()
  expect(queue.size).toBe(2_000)
  for (const t of tickets.slice(3_000)) t.ack()
  expect(sent).toHaveLength(5_000)
  expect(queue.size).toBe(0)
})

test('a held message lets the PUBACKs after it pass, and sends its own once when finally acked', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const [a, b, c] = [queue.enqueue(1), queue.enqueue(2), queue.enqueue(3)]
  b.hold()
  c.ack()
  expect(sent).toEqual([])
  a.ack()
  expect(sent).toEqual([1, 3])
  expect([queue.size, queue.held]).toEqual([0, 1])
  b.ack()
  b.ack()
  expect(sent).toEqual([1, 3, 2])
  expect(queue.held).toBe(0)
})

test('a held message acked before the queue reaches it keeps its place in order', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const [a, b] = [queue.enqueue(1), queue.enqueue(2)]
  b.hold()
  b.ack()
  expect(sent).toEqual([])
  a.ack()
  expect(sent).toEqual([1, 2])
})

test('the span since the oldest held message counts deliveries, so packet-id reuse can be avoided', () => {
  const queue = new AckQueue(() => {})
  queue.enqueue(1).ack()
  const held = queue.enqueue(2)
  held.hold()
  for (let id = 3; id < 103; id++) queue.enqueue(id).ack()
  expect(queue.heldSpan).toBe(101)
  held.ack()
  expect(queue.heldSpan).toBe(0)
})

test('a lost connection cancels held messages too: the broker delivers them again', () => {
  const sent: number[] = []
  const queue = new AckQueue((id) => sent.push(id))
  const held = queue.enqueue(1)
  held.hold()
  queue.reset()
  expect([held.cancelled, queue.held]).toEqual([true, 0])
  held.ack()
  expect(sent).toEqual([])
})
