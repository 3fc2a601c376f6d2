import { mkdir, open, readdir, readFile, truncate, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { fsyncDirectory } from '@evmon/runtime'
import { acquireDirLock, type DirLock } from './dir-lock.ts'
import {
  decodeBody,
  encodeFrame,
  FRAME_HEADER_BYTES,
  scanFrames,
  type FrameIndex,
  type SpoolRecord,
} from './spool-frame.ts'
import type { Logger } from './log.ts'

/** The spool refused a record: it would exceed the disk quota. */
export class SpoolFullError extends Error {
  override name = 'SpoolFullError'
}

export interface SpoolOptions {
  dir: string
  /** Quota for every segment file together, consumed-but-not-yet-deleted records included. */
  maxBytes: number
  logger: Logger
}

/** Counters and gauges of the spool, for metrics. */
export interface SpoolStats {
  records: number
  bytes: number
  /** True from a refused append until a drained segment frees room. */
  full: boolean
}

/**
 * A durable FIFO of batches in segment files (`<12-digit seq>.seg`), for the time InfluxDB cannot take
 * them. `append` resolves only after the record is fsync'd; concurrent appends share one write and
 * one fsync (group commit). `peek` and `shift` consume from the oldest record; a segment is deleted
 * when all its records are consumed, so an empty spool has no files.
 *
 * Which records of the oldest segment were already consumed is kept in memory only: after a crash they
 * are written again, which is harmless because a point with the same series and time overwrites
 * itself. Segments are kept small (≤ 1/8 of the quota, ≤ 16 MiB) to bound that rewrite.
 */
export interface Spool {
  append(record: SpoolRecord): Promise<void>
  /** The oldest unconsumed record, read from disk. */
  peek(): Promise<SpoolRecord | undefined>
  /** Marks the record `peek` returned as written. */
  shift(): Promise<void>
  /** Resolves the next time consumed segments are deleted (room appeared), or on close. */
  roomFreed(): Promise<void>
  stats(): SpoolStats
  close(): Promise<void>
}

interface Segment {
  seq: number
  path: string
  frames: FrameIndex[]
  size: number
  /** Takes no more appends (a write to it failed). */
  sealed?: boolean
  writer?: FileHandle
  reader?: FileHandle
}

const SEGMENT_SUFFIX = '.seg'
const segmentName = (seq: number) => `${String(seq).padStart(12, '0')}${SEGMENT_SUFFIX}`

/** Reads every segment left by an earlier run, cutting the torn tail of an interrupted append. */
async function recover(dir: string, logger: Logger): Promise<Segment[]> {
  const names = (await readdir(dir)).filter((n) => /^\d{12}\.seg$/.test(n)).sort()
  const segments: Segment[] = []
  for (const name of names) {
    const path = join(dir, name)
    const data = await readFile(path)
    const { frames, validBytes } = scanFrames(data)
    if (validBytes < data.byteLength) {
      logger.warn('spool: cutting an incomplete record left by a crash', {
        path,
        keptBytes: validBytes,
        droppedBytes: data.byteLength - validBytes,
      })
      await truncate(path, validBytes)
    }
    if (frames.length === 0) await unlink(path)
    else segments.push({ seq: Number(name.slice(0, 12)), path, frames, size: validBytes })
  }
  return segments
}

export async function openSpool(options: SpoolOptions): Promise<Spool> {
  const { dir, maxBytes, logger } = options
  await mkdir(dir, { recursive: true })
  const lock: DirLock = await acquireDirLock(dir)
  const segmentBytes = Math.max(64 * 1024, Math.min(16 * 1024 * 1024, Math.floor(maxBytes / 8)))
  const segments = await recover(dir, logger).catch(async (err: unknown) => {
    await lock.release()
    throw err
  })
  let nextSeq = (segments.at(-1)?.seq ?? 0) + 1
  let bytes = segments.reduce((n, s) => n + s.size, 0)
  let records = segments.reduce((n, s) => n + s.frames.length, 0)
  let consumedInHead = 0
  let full = false
  let roomWaiters: (() => void)[] = []
  // Appends and segment deletion touch the same files: they take turns.
  let exclusive: Promise<unknown> = Promise.resolve()
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = exclusive.then(fn)
    exclusive = run.catch(() => undefined)
    return run
  }
  let pending: { frame: Buffer; resolve: () => void; reject: (err: Error) => void }[] = []
  let flushing = false

  async function activeSegment(): Promise<Segment> {
    let last = segments.at(-1)
    if (!last || last.sealed || last.size >= segmentBytes) {
      last = { seq: nextSeq++, path: '', frames: [], size: 0 }
      last.path = join(dir, segmentName(last.seq))
      segments.push(last)
    }
    if (!last.writer) {
      last.writer = await open(last.path, 'a')
      // The new file's directory entry must survive a crash too, not only its contents.
      await fsyncDirectory(dir)
    }
    return last
  }

  async function writeGroup(group: typeof pending): Promise<void> {
    const accepted: typeof pending = []
    for (const item of group) {
      if (bytes + item.frame.byteLength > maxBytes) {
        full = true
        item.reject(new SpoolFullError(`spool ${dir} is full (${bytes} of ${maxBytes} bytes)`))
      } else {
        bytes += item.frame.byteLength
        accepted.push(item)
      }
    }
    while (accepted.length > 0) {
      const segment = await activeSegment()
      // Fill the active segment up to its size, then move on to a new one.
      const chunk: typeof pending = []
      let chunkBytes = 0
      while (accepted.length > 0 && (chunk.length === 0 || segment.size + chunkBytes < segmentBytes)) {
        const item = accepted.shift() as (typeof pending)[number]
        chunk.push(item)
        chunkBytes += item.frame.byteLength
      }
      try {
        await segment.writer!.writev(chunk.map((c) => c.frame))
        await segment.writer!.datasync()
      } catch (err) {
        bytes -= chunkBytes + accepted.reduce((n, a) => n + a.frame.byteLength, 0)
        for (const item of [...chunk, ...accepted]) item.reject(err as Error)
        // The file may now end in a partial frame: recovery cuts it; this segment takes no more.
        segment.sealed = true
        if (segment.frames.length === 0) {
          segments.pop()
          await segment.writer?.close()
          await unlink(segment.path).catch(() => undefined)
        }
        return
      }
      for (const item of chunk) {
        segment.frames.push({ offset: segment.size, bytes: item.frame.byteLength })
        segment.size += item.frame.byteLength
        records++
        item.resolve()
      }
    }
  }

  function kick(): void {
    if (flushing) return
    flushing = true
    void serialised(async () => {
      while (pending.length > 0) {
        const group = pending
        pending = []
        await writeGroup(group)
      }
    }).finally(() => {
      flushing = false
      if (pending.length > 0) kick()
    })
  }

  async function deleteHead(): Promise<void> {
    const head = segments.shift() as Segment
    await head.writer?.close()
    await head.reader?.close()
    await unlink(head.path)
    bytes -= head.size
    consumedInHead = 0
    full = false
    const waiters = roomWaiters
    roomWaiters = []
    for (const resolve of waiters) resolve()
  }

  return {
    append(record) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ frame: encodeFrame(record), resolve, reject })
        kick()
      })
    },
    async peek() {
      const head = segments[0]
      const frame = head?.frames[consumedInHead]
      if (!head || !frame) return undefined
      head.reader ??= await open(head.path, 'r')
      const body = Buffer.allocUnsafe(frame.bytes - FRAME_HEADER_BYTES)
      await head.reader.read(body, 0, body.byteLength, frame.offset + FRAME_HEADER_BYTES)
      return decodeBody(body)
    },
    shift() {
      return serialised(async () => {
        const head = segments[0]
        if (!head || consumedInHead >= head.frames.length) return
        consumedInHead++
        records--
        if (consumedInHead === head.frames.length) await deleteHead()
      })
    },
    roomFreed: () => new Promise((resolve) => roomWaiters.push(resolve)),
    stats: () => ({ records, bytes, full }),
    async close() {
      await serialised(async () => {
        for (const s of segments) {
          await s.writer?.close()
          await s.reader?.close()
          s.writer = s.reader = undefined
        }
      })
      for (const resolve of roomWaiters) resolve()
      roomWaiters = []
      await lock.release()
    },
  }
}
