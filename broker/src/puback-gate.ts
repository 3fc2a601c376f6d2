/** MQTT control packet type of PUBACK (high nibble of the first byte). */
const PUBACK = 4
const EMPTY = Buffer.alloc(0)

interface Held {
  id: number
  bytes: Buffer
  released: boolean
}

/**
 * Holds back the PUBACKs aedes writes to one connection until the publish each acknowledges is
 * handled. aedes (1.x) writes a QoS 1 PUBACK *before* it writes the message into the persistent
 * subscribers' queues (Redis), so a broker killed in between had acknowledged a message it then lost,
 * and the publisher had forgotten it. Here a PUBACK reaches the socket only once aedes reported that
 * publish (its 'publish' event comes after the queues are written); a broker that dies first leaves
 * the message unacknowledged, and the publisher sends it again.
 *
 * It reads the outgoing bytes packet by packet (fixed header and length only): every other packet
 * passes at once; PUBACKs go out in the order aedes wrote them, as MQTT asks ([MQTT-4.6.0-2]).
 */
export class PubackGate {
  /** Fixed header bytes read so far of the packet being read (type byte + length varint). */
  private header: number[] = []
  /** Bytes of the current packet still to come. */
  private remaining = 0
  /** The bytes of the PUBACK being read, when the current packet is one. */
  private puback: Buffer[] | undefined
  /** PUBACKs aedes wrote and not yet sent, oldest first. */
  private held: Held[] = []
  /** Publishes reported handled before their PUBACK came through, by packet id. */
  private readonly early = new Map<number, number>()

  /** `send` puts released PUBACKs on the wire, after everything `filter` returned before. */
  constructor(private readonly send: (bytes: Buffer) => void) {}

  /** PUBACKs held now. */
  get holding(): number {
    return this.held.length
  }

  /** Takes what aedes writes; returns what may go out now: all of it but the PUBACKs not yet released. */
  filter(chunk: Buffer): Buffer {
    const out: Buffer[] = []
    // Start of the bytes that pass, or -1 while inside a PUBACK.
    let passFrom = this.puback ? -1 : 0
    // At a packet boundary: a complete PUBACK is taken in, and released ones go out here.
    const boundary = (at: number) => {
      if (this.puback) {
        this.pubackRead()
        passFrom = at
      }
      const released = this.takeReleased()
      if (!released) return
      if (at > passFrom) out.push(chunk.subarray(passFrom, at))
      out.push(released)
      passFrom = at
    }
    let i = 0
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i)
        this.puback?.push(chunk.subarray(i, i + take))
        this.remaining -= take
        i += take
        if (this.remaining === 0) boundary(i)
        continue
      }
      const byte = chunk[i] as number
      if (this.header.length === 0 && byte >> 4 === PUBACK) {
        if (i > passFrom) out.push(chunk.subarray(passFrom, i))
        passFrom = -1
        this.puback = []
      }
      this.header.push(byte)
      this.puback?.push(chunk.subarray(i, i + 1))
      i++
      if (this.header.length === 1 || (byte & 0x80 && this.header.length < 5)) continue
      let length = 0
      for (let k = this.header.length - 1; k >= 1; k--)
        length = length * 128 + ((this.header[k] as number) & 0x7f)
      this.header = []
      this.remaining = length
      if (length === 0) boundary(i)
    }
    if (passFrom >= 0 && passFrom < chunk.length) out.push(passFrom === 0 ? chunk : chunk.subarray(passFrom))
    if (out.length === 0) return EMPTY
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out)
  }

  /** aedes handled the QoS 1 publish with this packet id: its PUBACK may go out (in order). */
  published(messageId: number): void {
    const waiting = this.held.find((h) => h.id === messageId && !h.released)
    if (waiting) waiting.released = true
    else this.early.set(messageId, (this.early.get(messageId) ?? 0) + 1)
    // Only between two packets: in the middle of one, the next `filter` sends them at its end.
    if (this.header.length > 0 || this.remaining > 0 || this.puback) return
    const released = this.takeReleased()
    if (released) this.send(released)
  }

  /** A complete PUBACK was read: hold it, or release it if its publish is done already. */
  private pubackRead(): void {
    const bytes = Buffer.concat(this.puback ?? [])
    this.puback = undefined
    // The packet id follows the fixed header (type byte, then the length varint).
    let k = 1
    while (k < bytes.length && ((bytes[k] as number) & 0x80) !== 0) k++
    const id = k + 2 < bytes.length ? bytes.readUInt16BE(k + 1) : -1
    const early = this.early.get(id) ?? 0
    if (early > 1) this.early.set(id, early - 1)
    else this.early.delete(id)
    // A malformed one (no id) is not ours to judge: it goes out as aedes wrote it.
    this.held.push({ id, bytes, released: early > 0 || id < 0 })
  }

  /** The released PUBACKs at the head of the line, taken out, or undefined. */
  private takeReleased(): Buffer | undefined {
    let n = 0
    while (n < this.held.length && (this.held[n] as Held).released) n++
    if (n === 0) return undefined
    const out = this.held.slice(0, n)
    this.held = this.held.slice(n)
    return out.length === 1 ? (out[0] as Held).bytes : Buffer.concat(out.map((h) => h.bytes))
  }
}
