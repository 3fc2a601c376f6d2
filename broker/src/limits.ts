import { Transform, type TransformCallback } from 'node:stream'

/**
 * Sits between a socket and aedes and reads only MQTT fixed headers: a packet whose declared length
 * exceeds `maxPacketBytes` ends the connection before its body is buffered, so one client cannot make
 * the broker hold a 256 MB packet in memory.
 */
export class PacketSizeGuard extends Transform {
  private remaining = 0 // body bytes of the current packet still to pass through
  private header: number[] = [] // fixed header bytes read so far (type byte + length varint)

  constructor(
    private readonly maxPacketBytes: number,
    private readonly onOversize: (declaredBytes: number) => void,
  ) {
    super()
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i)
        this.remaining -= take
        i += take
        continue
      }
      const byte = chunk[i++] as number
      this.header.push(byte)
      if (this.header.length === 1) continue
      if (byte & 0x80 && this.header.length < 5) continue
      let length = 0
      for (let k = this.header.length - 1; k >= 1; k--)
        length = length * 128 + ((this.header[k] as number) & 0x7f)
      this.header = []
      if (length > this.maxPacketBytes) {
        this.onOversize(length)
        done(new Error(`packet of ${length} bytes exceeds the ${this.maxPacketBytes}-byte limit`))
        return
      }
      this.remaining = length
    }
    done(null, chunk)
  }
}
