/** The promise to acknowledge one received message once it has been handled. Calling it twice is harmless. */
export interface AckTicket {
  ack(): void
  /**
   * Keeps this message unacknowledged without holding back the messages after it: their PUBACKs
   * pass it, and its own is sent (out of order) when `ack` is finally called.
   */
  hold(): void
  /** True once the connection it arrived on is gone: acknowledging it is pointless, the broker resends it. */
  readonly cancelled: boolean
}

interface Entry {
  messageId: number | undefined
  done: boolean
  cancelled: boolean
  held: boolean
  /** Released past while held: its PUBACK goes out alone when it is acked. */
  passed: boolean
  /** Deliveries counted when it arrived, to know when its packet id may come round again. */
  arrival: number
}

/**
 * Releases PUBACKs in the order the messages arrived, each only once its own message and every earlier
 * one is handled. MQTT 3.1.1 asks for that order ([MQTT-4.6.0-2]), and it lets a broker that resends
 * after a reconnect find exactly the unacknowledged tail.
 *
 * The one exception is a held message (a rejected message the dead-letter store has no room for): the
 * PUBACKs after it are released past it, so one station's refused flood does not stall every other
 * station, and its own PUBACK is sent when it is finally stored. Brokers match a PUBACK by packet id
 * (aedes, mosquitto), so an out-of-order PUBACK acknowledges exactly its message.
 */
export class AckQueue {
  private entries: Entry[] = []
  private head = 0
  private delivered = 0
  /** Held entries not yet acknowledged, oldest first (a Set keeps insertion order). */
  private readonly heldEntries = new Set<Entry>()

  /** `send` puts one PUBACK on the wire. */
  constructor(private readonly send: (messageId: number) => void) {}

  /** Messages received and not yet acknowledged, held ones aside. */
  get size(): number {
    return this.entries.length - this.head
  }

  /** Messages held unacknowledged. */
  get held(): number {
    return this.heldEntries.size
  }

  /**
   * Messages received since the oldest held one. A broker numbers packets with a 16-bit counter, so
   * after about 65,535 deliveries it may reuse the packet id of a message still held: reading must
   * stop well before that.
   */
  get heldSpan(): number {
    const oldest = this.heldEntries.values().next().value
    return oldest === undefined ? 0 : this.delivered - oldest.arrival
  }

  /** Registers a received message; `messageId` is undefined for QoS 0, which has nothing to acknowledge. */
  enqueue(messageId: number | undefined): AckTicket {
    const entry: Entry = {
      messageId,
      done: false,
      cancelled: false,
      held: false,
      passed: false,
      arrival: this.delivered++,
    }
    this.entries.push(entry)
    return {
      ack: () => {
        if (entry.done || entry.cancelled) return
        entry.done = true
        if (!entry.held) return this.release()
        this.heldEntries.delete(entry)
        if (!entry.passed) return this.release()
        if (entry.messageId !== undefined) this.send(entry.messageId)
      },
      hold: () => {
        if (entry.done || entry.cancelled || entry.held) return
        entry.held = true
        this.heldEntries.add(entry)
        this.release()
      },
      get cancelled() {
        return entry.cancelled
      },
    }
  }

  /**
   * Forgets every pending message: the connection they arrived on is gone, so their packet ids mean
   * nothing on the next one, and the broker will deliver them again.
   */
  reset(): void {
    for (let i = this.head; i < this.entries.length; i++) (this.entries[i] as Entry).cancelled = true
    for (const entry of this.heldEntries) entry.cancelled = true
    this.heldEntries.clear()
    this.entries = []
    this.head = 0
  }

  private release(): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as Entry
      if (entry.held && !entry.done) {
        entry.passed = true
        this.head++
        continue
      }
      if (!entry.done) break
      this.head++
      if (entry.messageId !== undefined) this.send(entry.messageId)
    }
    // Compact now and then instead of shifting on every release.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head)
      this.head = 0
    }
  }
}
