/** The promise to acknowledge one received message once it has been handled. Calling it twice is harmless. */
export interface AckTicket {
  ack(): void
}

interface Entry {
  messageId: number | undefined
  done: boolean
  cancelled: boolean
}

/**
 * Releases PUBACKs in the order the messages arrived, each only once its own message and every earlier
 * one is handled. MQTT 3.1.1 requires that order ([MQTT-4.6.0-2]), and it lets a broker that resends
 * after a reconnect find exactly the unacknowledged tail.
 */
export class AckQueue {
  private entries: Entry[] = []
  private head = 0

  /** `send` puts one PUBACK on the wire. */
  constructor(private readonly send: (messageId: number) => void) {}

  /** Messages received and not yet acknowledged. */
  get size(): number {
    return this.entries.length - this.head
  }

  /** Registers a received message; `messageId` is undefined for QoS 0, which has nothing to acknowledge. */
  enqueue(messageId: number | undefined): AckTicket {
    const entry: Entry = { messageId, done: false, cancelled: false }
    this.entries.push(entry)
    return {
      ack: () => {
        if (entry.done || entry.cancelled) return
        entry.done = true
        this.release()
      },
    }
  }

  /**
   * Forgets every pending message: the connection they arrived on is gone, so their packet ids mean
   * nothing on the next one, and the broker will deliver them again.
   */
  reset(): void {
    for (let i = this.head; i < this.entries.length; i++) (this.entries[i] as Entry).cancelled = true
    this.entries = []
    this.head = 0
  }

  private release(): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head] as Entry
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
