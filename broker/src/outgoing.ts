import { Readable } from 'node:stream'

/** What the queue needs of a packet aedes hands over; the rest is carried along unchanged. */
export interface OutgoingPacket {
  brokerId: string
  brokerCounter: number
  messageId?: number
}

interface Entry {
  /** Position in the client's queue: lower is older. */
  seq: number
  packet: OutgoingPacket
}

/** One client's queue: insertion order plus the two lookups aedes makes on every QoS 1 delivery. */
class ClientQueue {
  private nextSeq = 0
  readonly entries = new Set<Entry>()
  private readonly byCounter = new Map<string, Set<Entry>>()
  // Entries without a packet id yet are indexed under `undefined`: aedes clears the oldest of those
  // when it decides not to forward a queued packet after all.
  private readonly byMessageId = new Map<number | undefined, Set<Entry>>()

  push(packet: OutgoingPacket): void {
    const entry = { seq: this.nextSeq++, packet }
    this.entries.add(entry)
    this.index(entry)
  }

  /** The oldest entry for this broker packet, or holding `messageId` for another broker's packet. */
  findForUpdate(packet: OutgoingPacket): Entry | undefined {
    const same = first(this.byCounter.get(counterKey(packet)))
    const other = first(this.byMessageId.get(packet.messageId), (e) => e.packet.brokerId !== packet.brokerId)
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
    return first(this.byMessageId.get(messageId))
  }

  remove(entry: Entry): void {
    this.entries.delete(entry)
    this.unindex(entry)
  }

  private index(entry: Entry): void {
    add(this.byCounter, counterKey(entry.packet), entry)
    add(this.byMessageId, entry.packet.messageId, entry)
  }

  private unindex(entry: Entry): void {
    drop(this.byCounter, counterKey(entry.packet), entry)
    drop(this.byMessageId, entry.packet.messageId, entry)
  }
}

const counterKey = (p: OutgoingPacket) => `${p.brokerId}\n${p.brokerCounter}`

/** The oldest of `entries` that passes `test` (an index set rarely holds more than one). */
function first(entries: Set<Entry> | undefined, test: (e: Entry) => boolean = () => true) {
  let oldest: Entry | undefined
  for (const e of entries ?? []) if ((!oldest || e.seq < oldest.seq) && test(e)) oldest = e
  return oldest
}

function add<K>(map: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  const set = map.get(key)
  if (set) set.add(entry)
  else map.set(key, new Set([entry]))
}

function drop<K>(map: Map<K, Set<Entry>>, key: K, entry: Entry): void {
  const set = map.get(key)
  if (set?.delete(entry) && set.size === 0) map.delete(key)
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
 * behaviour — queue order, which entry an update or an acknowledgement applies to — at constant cost.
 */
export function indexOutgoing(persistence: OutgoingMethods): void {
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
}
