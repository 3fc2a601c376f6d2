import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { expect, test } from 'vitest'
import { FailureLimiter, TokenBucket } from '@evmon/runtime'
import { PacketSizeGuard } from '../src/limits.ts'

/** An MQTT PUBLISH packet (QoS 0) with the given payload size. */
function publishPacket(payloadBytes: number): Buffer {
  const topic = Buffer.from('t')
  const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.alloc(payloadBytes, 0x61)])
  const length: number[] = []
  let n = body.length
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    length.push(byte)
  } while (n > 0)
  return Buffer.concat([Buffer.from([0x30, ...length]), body])
}

async function passThrough(
  chunks: Buffer[],
  limit: number,
): Promise<{ out: Buffer; oversize: number[]; error?: Error }> {
  const out: Buffer[] = []
  const oversize: number[] = []
  const guard = new PacketSizeGuard(limit, (n) => oversize.push(n))
  guard.on('data', (c: Buffer) => out.push(c))
  const error = await pipeline(Readable.from(chunks), guard).then(
    () => undefined,
    (e: Error) => e,
  )
  return { out: Buffer.concat(out), oversize, ...(error ? { error } : {}) }
}

test('packets within the limit pass through unchanged, however they are split', async () => {
  const stream = Buffer.concat([publishPacket(10), publishPacket(200), publishPacket(20_000)])
  const chunks = [stream.subarray(0, 1), stream.subarray(1, 3), stream.subarray(3, 250), stream.subarray(250)]
  const result = await passThrough(chunks, 30_000)
  expect(result.error).toBeUndefined()
  expect(result.out.equals(stream)).toBe(true)
})

test('a packet declaring more than the limit ends the stream before its body is read', async () => {
  const big = publishPacket(70_000)
  const result = await passThrough([publishPacket(5), big.subarray(0, 10)], 65_536)
  expect(result.oversize).toEqual([70_000 + 3])
  expect(result.error?.message).toMatch(/exceeds/)
})

test('a token bucket allows the burst, then the sustained rate', () => {
  const bucket = new TokenBucket(2, 3, 0)
  expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([true, true, true, false])
  expect(bucket.take(499)).toBe(false)
  expect(bucket.take(500)).toBe(true)
})

test('the failure limiter blocks after the maximum within the window, then forgets', () => {
  const limiter = new FailureLimiter(2, 1000)
  limiter.fail('a', 0)
  expect(limiter.blocked('a', 10)).toBe(false)
  limiter.fail('a', 10)
  expect(limiter.blocked('a', 20)).toBe(true)
  expect(limiter.blocked('b', 20)).toBe(false)
  expect(limiter.blocked('a', 1011)).toBe(false)
})
