import { createHash, randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'
import { isUtf8 } from 'node:buffer'
import { DEFAULT_DECODE_LIMITS } from '@evmon/contracts'
import { fsyncDirectory } from '@evmon/runtime'
import type { Logger } from './log.ts'

/** Something ingest refused, kept for an engineer to look at and, once the cause is fixed, redrive. */
export type DeadLetterEntry =
  | {
      kind: 'message'
      reason: string
      detail: string
      topic: string
      receivedAt: number
      payload: Uint8Array
    }
  | {
      kind: 'line'
      reason: string
      detail: string
      line: string
      status?: number
      rejectedAt: number
    }

/** One line of the store: an entry as kept on disk, with its id and the station it came from. */
export type DeadLetterRecord =
  | {
      kind: 'message'
      id: string
      reason: string
      detail: string
      site?: string
      station?: string
      topic: string
      receivedAt: number
      payload?: string
      payload_base64?: string
      payload_bytes: number
      truncated: boolean
    }
  | {
      kind: 'line'
      id: string
      reason: string
      detail: string
      site?: string
      station?: string
      line: string
      status?: number
      rejectedAt: number
      truncated: boolean
    }

/** Appended by `redrive` once a record's points are stored: the record is kept, and never redriven again. */
export interface RedriveMark {
  kind: 'redriven'
  id: string
  redrivenAt: number
  shiftMs: number
  points: number
}

/**
 * Longest payload kept whole: the contract's payload limit, so every message that could ever be
 * accepted can be redriven. Only a `too_large` payload is cut (it can never be accepted as it is).
 */
const MAX_KEPT_BYTES = DEFAULT_DECODE_LIMITS.maxPayloadBytes

/** Share of the quota at which the store warns (log and `evmon_ingest_dead_letter_quota_warning`). */
const DEAD_LETTER_WARN_RATIO = 0.8

/** While full, how often the file is looked at again (an engineer may have archived it); also the wait after a disk error. */
const FULL_RECHECK_MS = 1_000

function clip(bytes: Uint8Array, max: number): { text?: string; base64?: string; truncated: boolean } {
  const truncated = bytes.byteLength > max
  const kept = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, max))
  if (!isUtf8(bytes)) return { base64: kept.toString('base64'), truncated }
  // A cut may split a multi-byte character: drop the replacement character it decodes to.
  const text = kept.toString('utf8')
  return { text: truncated ? text.replace(/\uFFFD$/, '') : text, truncated }
}

/** Site and station of a topic's `evmon/v1/{site}/{station}/…` levels, as sent (even when invalid). */
function origin(topic: string): { site?: string; station?: string } {
  const [, , site, station] = topic.split('/')
  return { ...(site && { site: site.slice(0, 64) }), ...(station && { station: station.slice(0, 64) }) }
}

/** Site and station tags of a line-protocol line. Ids never need escaping, so a plain match is exact. */
function lineOrigin(line: string): { site?: string; station?: string } {
  const tags = line.split(' ', 1)[0] ?? ''
  const site = /,site=([^,]+)/.exec(tags)?.[1]
  const station = /,station=([^,]+)/.exec(tags)?.[1]
  return { ...(site && { site }), ...(station && { station }) }
}

/** The station a rejected entry is attributed to, for holding and listing (`-` when it names none). */
export function stationOf(entry: DeadLetterEntry): string {
  return (entry.kind === 'message' ? origin(entry.topic) : lineOrigin(entry.line)).station ?? '-'
}

/**
 * One NDJSON line (with its newline) for an entry. Payloads that are valid UTF-8 are kept as text
 * (`payload`), anything else as base64 (`payload_base64`).
 */
export function formatDeadLetter(entry: DeadLetterEntry, id: string, maxBytes = MAX_KEPT_BYTES): string {
  if (entry.kind === 'line') {
    const { text, truncated } = clip(Buffer.from(entry.line), maxBytes)
    const record: DeadLetterRecord = { ...entry, id, ...lineOrigin(entry.line), line: text ?? '', truncated }
    return `${JSON.stringify(record)}\n`
  }
  const { payload, topic, ...rest } = entry
  const clipped = clip(payload, maxBytes)
  const body = clipped.text !== undefined ? { payload: clipped.text } : { payload_base64: clipped.base64 }
  const record: DeadLetterRecord = {
    ...rest,
    id,
    ...origin(topic),
    topic: topic.slice(0, maxBytes),
    ...body,
    payload_bytes: payload.byteLength,
    truncated: clipped.truncated,
  }
  return `${JSON.stringify(record)}\n`
}

/** Counters and gauges of the store, for metrics. */
export interface DeadLetterStats {
  /** Entries made durable since start. */
  written: number
  /** Bytes of the file (as last seen on disk, plus what this process appended since). */
  bytes: number
  maxBytes: number
  /** At or above {@link DEAD_LETTER_WARN_RATIO} of the quota. */
  warning: boolean
  /** An entry did not fit since the last time room was seen. */
  full: boolean
  /** Appends the disk refused (their messages stay unacknowledged). */
  writeErrors: number
}

export type AppendResult = 'stored' | 'full'

export interface DeadLetterStore {
  /**
   * Appends an entry and fsyncs it; resolves `stored` once it is durable, or `full` at once (writing
   * nothing) when it would take the file past its quota. Rejects when the disk fails.
   */
  append(entry: DeadLetterEntry): Promise<AppendResult>
  /**
   * Resolves when the file is seen to have room again (it was archived, truncated or removed), a
   * while after a failed append (to try again), or on close.
   */
  roomFreed(): Promise<void>
  stats(): DeadLetterStats
  /** Resolves when every pending append is settled. */
  close(): Promise<void>
}

export interface DeadLetterOptions {
  path: string
  /** Quota of the file: an entry that would take it past this is refused with `full`. */
  maxBytes: number
  logger: Logger
}

/**
 * Cuts a record left half-written by a crash off the end of the file, so the next append starts on a
 * line of its own. That record was never acknowledged (its write had not finished), so the broker
 * delivers its message again. Returns the file's size afterwards.
 */
async function cutTornTail(path: string, logger: Logger): Promise<number> {
  const handle = await open(path, 'r+').catch(() => undefined)
  if (handle === undefined) return 0
  try {
    const { size } = await handle.stat()
    let end = size
    const chunk = Buffer.alloc(64 * 1024)
    while (end > 0) {
      const start = Math.max(0, end - chunk.length)
      const { bytesRead } = await handle.read(chunk, 0, end - start, start)
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a)
      if (newline >= 0) {
        end = start + newline + 1
        break
      }
      end = start
    }
    if (end < size) {
      logger.warn('dead-letter store: cutting a record left incomplete by a crash', {
        path,
        droppedBytes: size - end,
      })
      await handle.truncate(end)
      await handle.sync()
    }
    return end
  } finally {
    await handle.close()
  }
}

interface Pending {
  text: string
  bytes: number
  resolve(result: AppendResult): void
  reject(err: Error): void
}

/**
 * Opens (creating its directory) the dead-letter store: one NDJSON file that only grows, each append
 * `fdatasync`'d before it is reported durable, so a rejected message is acknowledged only once its
 * record survives a crash. Appends that arrive together share one write and one fsync (group commit).
 * Nothing is ever rotated away: past the quota, appends are refused with `full` and the caller keeps
 * the message unacknowledged; room returns when an engineer archives or removes the file.
 */
export async function openDeadLetter(options: DeadLetterOptions): Promise<DeadLetterStore> {
  const { path, maxBytes, logger } = options
  await mkdir(dirname(path), { recursive: true })
  const onDisk = async () =>
    stat(path).then(
      (s) => s.size,
      () => undefined,
    )
  let size = await cutTornTail(path, logger)
  let reserved = 0
  let queue: Pending[] = []
  let flushing: Promise<void> | undefined
  let full = false
  let warned = false
  let closed = false
  let roomWaiters: (() => void)[] = []
  let recheck: NodeJS.Timeout | undefined
  const stats = { written: 0, writeErrors: 0 }
  // Ids are unique across restarts and instances: a random prefix per process, then a counter.
  const idPrefix = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`
  let counter = 0

  const checkWarning = () => {
    const warning = size >= maxBytes * DEAD_LETTER_WARN_RATIO
    if (warning && !warned) {
      logger.warn(
        'dead-letter store above 80% of its quota: archive it, or raise EVMON_INGEST_DEAD_LETTER_MAX_BYTES',
        {
          path,
          bytes: size,
          maxBytes,
        },
      )
    }
    warned = warning
  }
  checkWarning()

  const wake = () => {
    const waiters = roomWaiters
    roomWaiters = []
    for (const resolve of waiters) resolve()
  }

  // The file is looked at again while full: an archived or truncated file means room, and another
  // writer's appends (a redrive's marks) count against the quota as well.
  const startRecheck = () => {
    recheck ??= setInterval(() => {
      void onDisk().then((seen) => {
        if (seen === undefined || seen < size) {
          size = seen ?? 0
          full = false
          logger.info('dead-letter store has room again', { path, bytes: size, maxBytes })
          checkWarning()
          clearInterval(recheck)
          recheck = undefined
          wake()
        } else size = seen
      })
    }, FULL_RECHECK_MS)
    recheck.unref()
  }

  async function flush(): Promise<void> {
    while (queue.length > 0) {
      const batch = queue
      queue = []
      const chunk = batch.map((p) => p.text).join('')
      const bytes = batch.reduce((n, p) => n + p.bytes, 0)
      try {
        const handle = await open(path, 'a')
        let after: number
        try {
          await handle.write(chunk)
          await handle.datasync()
          // The file's own size: it counts a redrive's marks, and a file archived meanwhile starts afresh.
          after = (await handle.stat()).size
        } finally {
          await handle.close()
        }
        // A file this write created holds only this chunk; its directory entry must be durable too, or
        // a crash could lose the whole file.
        if (after === bytes) await fsyncDirectory(dirname(path))
        size = after
        reserved -= bytes
        stats.written += batch.length
        checkWarning()
        for (const p of batch) p.resolve('stored')
      } catch (err) {
        reserved -= bytes
        stats.writeErrors += batch.length
        logger.error('dead-letter append failed', { path, error: (err as Error).message })
        for (const p of batch) p.reject(err as Error)
        // Whoever waits for room tries again in a while: a disk error may pass (space freed, remounted).
        setTimeout(wake, FULL_RECHECK_MS).unref()
      }
    }
    flushing = undefined
  }

  return {
    append(entry) {
      const text = formatDeadLetter(entry, `${idPrefix}-${(counter++).toString(36)}`)
      const bytes = Buffer.byteLength(text)
      if (closed) return Promise.resolve('full')
      if (size + reserved + bytes > maxBytes) {
        if (!full) {
          logger.error('dead-letter store full: rejected messages stay unacknowledged until it has room', {
            path,
            bytes: size,
            maxBytes,
          })
        }
        full = true
        startRecheck()
        return Promise.resolve('full')
      }
      reserved += bytes
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ text, bytes, resolve, reject })
        flushing ??= flush()
      })
    },
    roomFreed: () => (closed ? Promise.resolve() : new Promise<void>((resolve) => roomWaiters.push(resolve))),
    stats: () => ({
      written: stats.written,
      bytes: size,
      maxBytes,
      warning: size >= maxBytes * DEAD_LETTER_WARN_RATIO,
      full,
      writeErrors: stats.writeErrors,
    }),
    async close() {
      closed = true
      clearInterval(recheck)
      recheck = undefined
      wake()
      await flushing
    },
  }
}

/** Every record and redrive mark of a store file, in order; a line torn by a crash is skipped. */
export async function readDeadLetterFile(
  path: string,
): Promise<{ records: DeadLetterRecord[]; redriven: Map<string, RedriveMark>; torn: number }> {
  const records: DeadLetterRecord[] = []
  const redriven = new Map<string, RedriveMark>()
  let torn = 0
  const exists = await stat(path).then(
    () => true,
    () => false,
  )
  if (!exists) return { records, redriven, torn }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
  for await (const line of lines) {
    if (line === '') continue
    let parsed: { kind?: unknown; id?: unknown }
    try {
      parsed = JSON.parse(line) as { kind?: unknown; id?: unknown }
    } catch {
      torn++
      continue
    }
    if (parsed.kind === 'redriven') redriven.set(String(parsed.id), parsed as RedriveMark)
    else if (parsed.kind === 'message' || parsed.kind === 'line') {
      // Records written before ids existed get one from their content, stable across runs.
      parsed.id ??= `h-${createHash('sha256').update(line).digest('hex').slice(0, 20)}`
      records.push(parsed as DeadLetterRecord)
    } else torn++
  }
  return { records, redriven, torn }
}
