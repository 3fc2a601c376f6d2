import { expect, test } from 'vitest'
import { decodeBody, encodeFrame, FRAME_HEADER_BYTES, scanFrames } from '../src/spool-frame.ts'

const records = [
  {
    lines: ['station,site=a,station=b grid_power_w=1 1', 'event,site=a reason="北碚" 2'],
    oldestTs: 1_742_869_800_000,
  },
  { lines: [], oldestTs: 7 },
]

test('frames round-trip their lines and oldest sample time', () => {
  const data = Buffer.concat(records.map(encodeFrame))
  const { frames, validBytes } = scanFrames(data)
  expect(validBytes).toBe(data.byteLength)
  expect(
    frames.map((f) => decodeBody(data.subarray(f.offset + FRAME_HEADER_BYTES, f.offset + f.bytes))),
  ).toEqual(records)
})

test('a torn or corrupted tail ends the scan at the last intact frame', () => {
  const first = encodeFrame(records[0]!)
  const second = encodeFrame(records[0]!)
  for (const cut of [1, FRAME_HEADER_BYTES, second.byteLength - 1]) {
    const { frames, validBytes } = scanFrames(Buffer.concat([first, second.subarray(0, cut)]))
    expect([cut, frames.length, validBytes]).toEqual([cut, 1, first.byteLength])
  }
  const flipped = Buffer.from(second)
  flipped.writeUInt8(flipped.readUInt8(flipped.byteLength - 3) ^ 0xff, flipped.byteLength - 3)
  expect(scanFrames(Buffer.concat([first, flipped])).frames).toHaveLength(1)
})
