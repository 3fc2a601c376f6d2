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
