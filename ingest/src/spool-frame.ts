import { crc32 } from 'node:zlib'

/**
 * One spooled batch on disk: `[u32 body length][u32 crc32 of body]` then the body,
 * `[f64 oldest sample ts][line protocol, newline-separated]`. The checksum lets recovery tell a
 * complete record from one torn by a crash in the middle of an append.
 */
export const FRAME_HEADER_BYTES = 8
const TS_BYTES = 8

/** A batch as it goes into and comes out of the spool. */
export interface SpoolRecord {
  lines: string[]
  /** Sample time of the oldest point, for the lag metric when the record is finally written. */
  oldestTs: number
}

export function encodeFrame(record: SpoolRecord): Buffer {
  const text = Buffer.from(record.lines.join('\n'), 'utf8')
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + TS_BYTES + text.byteLength)
  frame.writeDoubleLE(record.oldestTs, FRAME_HEADER_BYTES)
  text.copy(frame, FRAME_HEADER_BYTES + TS_BYTES)
  const body = frame.subarray(FRAME_HEADER_BYTES)
  frame.writeUInt32LE(body.byteLength, 0)
  frame.writeUInt32LE(crc32(body), 4)
  return frame
}

/** Decodes a frame body (the bytes after the header). */
export function decodeBody(body: Buffer): SpoolRecord {
  const text = body.toString('utf8', TS_BYTES)
  return { oldestTs: body.readDoubleLE(0), lines: text === '' ? [] : text.split('\n') }
}

/** Where each intact frame of a segment starts and how long it is. */
export interface FrameIndex {
  offset: number
  bytes: number
}

/**
 * Walks the frames of a segment's bytes and stops at the first incomplete or corrupt one: everything
 * from `validBytes` on is the tail of an append a crash interrupted, never acknowledged, and safe to cut.
 */
export function scanFrames(data: Buffer): { frames: FrameIndex[]; validBytes: number } {
  const frames: FrameIndex[] = []
  let offset = 0
  while (offset + FRAME_HEADER_BYTES <= data.byteLength) {
    const length = data.readUInt32LE(offset)
    const end = offset + FRAME_HEADER_BYTES + length
    if (length < TS_BYTES || end > data.byteLength) break
    const body = data.subarray(offset + FRAME_HEADER_BYTES, end)
    if (crc32(body) !== data.readUInt32LE(offset + 4)) break
    frames.push({ offset, bytes: end - offset })
    offset = end
  }
  return { frames, validBytes: offset }
}
