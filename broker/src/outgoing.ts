import { Readable } from 'node:stream'

/** What the queue needs of a packet aedes hands over; the rest is carried along unchanged. */
export interface OutgoingPacket {
  brokerId?: string
  brokerCounter?: number
  messageId?: number
}

interface Entry {
  /** Position in the client's queue: lower is older. */
  seq: number
  packet: OutgoingPacket
}

/** The entries that share one key, oldest first: nearly always exactly one, so held bare. */
type Bucket = Entry | Entry[]

function bucketAdd(bucket: Bucket | undefined, entry: Entry): Bucket {
  if (bucket === undefined) return entry
  const list = Array.isArray(bucket) ? bucket : [bucket]
  let i = list.length
  while (i > 0 && (list[i - 1] as Entry).seq > entry.seq) i--
  list.splice(i, 0, entry)
  return list
}

function bucketRemove(bucket: Bucket, entry: Entry): Bucket | undefined {
  if (!Array.isArray(bucket)) return bucket === entry ? undefined : bucket
  const i = bucket.indexOf(entry)
  if (i >= 0) bucket.splice(i, 1)
  return bucket.length > 1 ? bucket : bucket[0]
}

/** The oldest entry of `bucket` that passes `test`. */
function bucketFirst(bucket: Bucket | undefined, test?: (e: Entry) => boolean): Entry | undefined {
  if (bucket === undefined || !Array.isArray(bucket))
    return bucket && (!test || test(bucket)) ? bucket : undefined
  return test ? bucket.find(test) : bucket[0]
}

class KeyIndex<K> {
  private readonly buckets = new Map<K, Bucket>()

  get(key: K): Bucket | undefined {
    return this.buckets.get(key)
  }

  add(key: K, entry: Entry): void {
    this.buckets.set(key, bucketAdd(this.buckets.get(key), entry))
  }

  remove(key: K, entry: Entry): void {
    const bucket = this.buckets.get(key)
    if (bucket === undefined) return
    const rest = bucketRemove(bucket, entry)
    if (rest === undefined) this.buckets.delete(key)
    else if (rest !== bucket) this.buckets.set(key, rest)
  }
}

/**
 * One client's queue: insertion order plus the two lookups aedes makes on every QoS 1 delivery — by
 * broker packet (to record the packet id it was sent with) and by packet id (the acknowledgement).
 */
class ClientQueue {
  private nextSeq = 0
  readonly entries = new Set<Entry>()
  /** Broker id → broker counter → entries. A client holds one packet twice when two of its subscriptions match it. */
  private readonly byCounter = new Map<string | undefined, KeyIndex<number | undefined>>()
  private readonly byMessageId = new KeyIndex<number>()
  /**
   * Entries not yet sent (no packet id): aedes clears the oldest of them when it decides not to forward
   * a queued packet after all. They are appended in queue order, so a Set keeps them oldest first.
   */
  private readonly unsent = new Set<Entry>()

  push(packet: OutgoingPacket): void {
    const entry = { seq: this.nextSeq++, packet }
    this.entries.add(entry)
    this.index(entry)
  }

  /** The oldest entry for this broker packet, or holding `messageId` for another broker's packet. */
  findForUpdate(packet: OutgoingPacket): Entry | undefined {
    const same = bucketFirst(this.byCounter.get(packet.brokerId)?.get(packet.brokerCounter))
    const other =
      packet.messageId === undefined
        ? this.oldestUnsent((e) => e.packet.brokerId !== packet.brokerId)
        : bucketFirst(this.byMessageId.get(packet.messageId), (e) => e.packet.brokerId !== packet.brokerId)
    if (!same || !other) return same ?? other
    return same.seq < other.seq ? same : other
  }

  /** Takes `entry` out of the indexes, lets `change` alter its packet, and puts it back. */
  reindex(entry: Entry, change: () => void): void {
    this.unindex(entry)
    change()
    this.index(entry)
  }

  oldestWithMessageId(messageId: number | undefined): Entry | undefined {
    return messageId === undefined ? this.oldestUnsent() : bucketFirst(this.byMessageId.get(messageId))
  }

  remove(entry: Entry): void {
    this.entries.delete(entry)
    this.unindex(entry)
  }

  private oldestUnsent(test?: (e: Entry) => boolean): Entry | undefined {
    let oldest: Entry | undefined
    for (const e of this.unsent) if ((!oldest || e.seq < oldest.seq) && (!test || test(e))) oldest = e
    return oldest
  }

  private index(entry: Entry): void {
    const { brokerId, brokerCounter, messageId } = entry.packet
    let counters = this.byCounter.get(brokerId)
    if (counters === undefined) this.byCounter.set(brokerId, (counters = new KeyIndex()))
    counters.add(brokerCounter, entry)
    if (messageId === undefined) this.unsent.add(entry)
    else this.byMessageId.add(messageId, entry)
  }

  private unindex(entry: Entry): void {
    const { brokerId, brokerCounter, messageId } = entry.packet
    this.byCounter.get(brokerId)?.remove(brokerCounter, entry)
    if (messageId === undefined) this.unsent.delete(entry)
    else this.byMessageId.remove(messageId, entry)
  }
}

/** The outgoing-queue methods of an aedes persistence (all promise-based in aedes 1.x). */
export interface OutgoingMethods {
  outgoingEnqueue(sub: { clientId: string }, packet: OutgoingPacket): Promise<void>
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: OutgoingPacket): Promise<void>
  outgoingUpdate(client: { id: string }, packet: OutgoingPacket): Promise<void>
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>
  outgoingStream(client: { id: string }): Readable
}

/**
 * Replaces the outgoing (QoS 1/2 in flight) queue of aedes' in-memory persistence with an indexed one.
 * The bundled one keeps each client's queue in an array and scans it for every delivery (to record the
 * packet id) and every PUBACK: with a persistent subscriber that acknowledges in batches, as ingest does,
 * thousands of messages are in flight and the broker spent a third of its CPU in those scans. Same
 * behaviour — queue order, which entry an update or an acknowledgement applies to — at constant cost
 * (broker/test/outgoing.test.ts runs both on the same operations, random ones included).
 */
export function indexOutgoing(persistence: OutgoingMethods): { queued(clientId: string): number } {
  const queues = new Map<string, ClientQueue>()
  const queue = (clientId: string) => {
    let q = queues.get(clientId)
    if (!q) queues.set(clientId, (q = new ClientQueue()))
    return q
  }
  // A copy per subscriber, as the bundled queue makes: each gets its own packet id.
  const enqueue = (sub: { clientId: string }, packet: OutgoingPacket) =>
    queue(sub.clientId).push({ ...packet, messageId: undefined })

  persistence.outgoingEnqueue = async (sub, packet) => enqueue(sub, packet)
  persistence.outgoingEnqueueCombi = async (subs, packet) => {
    for (const sub of subs) enqueue(sub, packet)
  }
  persistence.outgoingUpdate = async (client, packet) => {
    const q = queue(client.id)
    const entry = q.findForUpdate(packet)
    if (!entry) throw new Error('no such packet')
    if (entry.packet.brokerId === packet.brokerId && entry.packet.brokerCounter === packet.brokerCounter)
      q.reindex(entry, () => (entry.packet.messageId = packet.messageId))
    else q.reindex(entry, () => (entry.packet = packet))
  }
  persistence.outgoingClearMessageId = async (client, packet) => {
    const q = queues.get(client.id)
    const entry = q?.oldestWithMessageId(packet.messageId)
    if (!q || !entry) return undefined
    q.remove(entry)
    return entry.packet
  }
  // A copy, as the bundled one makes: entries cleared while the stream is read stay in it.
  persistence.outgoingStream = (client) =>
    Readable.from([...(queues.get(client.id)?.entries ?? [])].map((e) => e.packet))
  /** Messages queued for a client and not yet acknowledged by it. */
  return { queued: (clientId) => queues.get(clientId)?.entries.size ?? 0 }
}
