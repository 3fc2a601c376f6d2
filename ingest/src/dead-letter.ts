import { isUtf8 } from 'node:buffer'
import { appendFile, mkdir, rename, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Logger } from './log.ts'

/** Something ingest refused, kept for a human to look at. */
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

/** Longest payload or line kept in one entry; a rejected 1 MB payload is not worth 1 MB of disk. */
const DEAD_LETTER_MAX_PAYLOAD_BYTES = 4_096

// Entries waiting for the disk; beyond this (a stuck disk under a flood of garbage) new ones are
// counted and dropped rather than growing memory without bound.
const MAX_QUEUED_ENTRIES = 10_000

function clip(bytes: Uint8Array, max: number): { text?: string; base64?: string; truncated: boolean } {
  const truncated = bytes.byteLength > max
  const kept = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, max))
  if (!isUtf8(bytes)) return { base64: kept.toString('base64'), truncated }
  // A cut may split a multi-byte character: drop the replacement character it decodes to.
  const text = kept.toString('utf8')
  return { text: truncated ? text.replace(/\uFFFD$/, '') : text, truncated }
}

/**
 * One NDJSON line (with its newline) for an entry. Payloads that are valid UTF-8 are kept as text
 * (`payload`), anything else as base64 (`payload_base64`); both are cut at `maxBytes`.
 */
export function formatDeadLetter(entry: DeadLetterEntry, maxBytes = DEAD_LETTER_MAX_PAYLOAD_BYTES): string {
  if (entry.kind === 'line') {
    const { text, truncated } = clip(Buffer.from(entry.line), maxBytes)
    return `${JSON.stringify({ ...entry, line: text, truncated })}\n`
  }
  const { payload, topic, ...rest } = entry
  const clipped = clip(payload, maxBytes)
  const body = clipped.text !== undefined ? { payload: clipped.text } : { payload_base64: clipped.base64 }
  return `${JSON.stringify({ ...rest, topic: topic.slice(0, maxBytes), ...body, payload_bytes: payload.byteLength, truncated: clipped.truncated })}\n`
}

/** Counters of the dead-letter file itself. */
export interface DeadLetterStats {
  written: number
  /** Entries lost because the queue was full or the disk refused them. */
  dropped: number
}

export interface DeadLetter {
  /** Queues an entry; never throws and never waits for the disk. */
  record(entry: DeadLetterEntry): void
  stats(): DeadLetterStats
  /** Resolves when every queued entry has been appended. */
  close(): Promise<void>
}

export interface DeadLetterOptions {
  path: string
  /** When the file would grow past this, it is renamed to `<path>.1` (replacing the previous one). */
  maxBytes: number
  logger: Logger
}

/**
 * Opens (creating its directory) a size-capped NDJSON dead-letter file: at most `maxBytes` in the
 * current file plus one rotated file, so disk use stays under twice the cap however much garbage
 * arrives. Appends are serialised and batched; a failing disk is logged and counted, never thrown.
 */
export async function openDeadLetter(options: DeadLetterOptions): Promise<DeadLetter> {
  const { path, maxBytes, logger } = options
  await mkdir(dirname(path), { recursive: true })
  let size = await stat(path).then(
    (s) => s.size,
    () => 0,
  )
  let queue: string[] = []
  let draining: Promise<void> | undefined
  const stats: DeadLetterStats = { written: 0, dropped: 0 }

  async function append(chunk: string, entries: number): Promise<void> {
    if (chunk === '') return
    try {
      await appendFile(path, chunk)
      size += Buffer.byteLength(chunk)
      stats.written += entries
    } catch (err) {
      stats.dropped += entries
      logger.error('dead-letter append failed', { path, error: (err as Error).message })
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const lines = queue
      queue = []
      let chunk = ''
      let chunkBytes = 0
      let entries = 0
      for (const line of lines) {
        const bytes = Buffer.byteLength(line)
        if (size + chunkBytes + bytes > maxBytes && size + chunkBytes > 0) {
          await append(chunk, entries)
          chunk = ''
          chunkBytes = 0
          entries = 0
          await rename(path, `${path}.1`).catch((err: Error) =>
            logger.error('dead-letter rotation failed', { path, error: err.message }),
          )
          // Counted afresh even when the rename failed, so a broken rename is retried once per cap.
          size = 0
        }
        chunk += line
        chunkBytes += bytes
        entries++
      }
      await append(chunk, entries)
    }
    draining = undefined
  }

  return {
    record(entry) {
      if (queue.length >= MAX_QUEUED_ENTRIES) {
        stats.dropped++
        return
      }
      queue.push(formatDeadLetter(entry))
      draining ??= drain()
    },
    stats: () => ({ ...stats }),
    async close() {
      await draining
    },
  }
}
