import type { DeadLetterEntry, DeadLetterStore } from '../src/dead-letter.ts'
import type { AckTicket } from '../src/ack-queue.ts'
import type { LineWriter } from '../src/line-writer.ts'
import { SpoolFullError, type Spool } from '../src/spool.ts'
import type { SpoolRecord } from '../src/spool-frame.ts'

/** A writer that stores what it accepts and fails as `behaviour` says (throw to fail a call). */
export function fakeWriter(
  behaviour: (lines: readonly string[], call: number) => void = () => {},
): LineWriter & { stored: string[]; calls: number } {
  const writer = {
    target: 'fake',
    stored: [] as string[],
    calls: 0,
    async prepare() {},
    async write(lines: readonly string[]) {
      behaviour(lines, writer.calls++)
      writer.stored.push(...lines)
    },
    async close() {},
  }
  return writer
}

/** The spool's contract in memory, with a quota in records instead of bytes. */
export function memorySpool(maxRecords = Infinity): Spool & { records: SpoolRecord[] } {
  const records: SpoolRecord[] = []
  let full = false
  let waiters: (() => void)[] = []
  return {
    records,
    async append(record) {
      if (records.length >= maxRecords) {
        full = true
        throw new SpoolFullError('full')
      }
      records.push(record)
    },
    async peek() {
      return records[0]
    },
    async shift() {
      records.shift()
      full = false
      const w = waiters
      waiters = []
      for (const resolve of w) resolve()
    },
    roomFreed: () => new Promise((resolve) => waiters.push(resolve)),
    stats: () => ({ records: records.length, bytes: records.length, full }),
    async close() {},
  }
}

/** The dead-letter store's contract in memory, with a quota in entries instead of bytes. */
export function recordingDeadLetter(maxEntries = Infinity): DeadLetterStore & {
  entries: DeadLetterEntry[]
  /** Frees room for `n` more entries and wakes whoever waits for it. */
  makeRoom(n: number): void
} {
  const entries: DeadLetterEntry[] = []
  let quota = maxEntries
  let full = false
  let waiters: (() => void)[] = []
  return {
    entries,
    async append(entry) {
      if (entries.length >= quota) {
        full = true
        return 'full'
      }
      entries.push(entry)
      return 'stored'
    },
    makeRoom(n) {
      quota = entries.length + n
      full = false
      const w = waiters
      waiters = []
      for (const resolve of w) resolve()
    },
    roomFreed: () => new Promise((resolve) => waiters.push(resolve)),
    stats: () => ({
      written: entries.length,
      bytes: entries.length,
      maxBytes: quota,
      warning: false,
      full,
      writeErrors: 0,
    }),
    async close() {},
  }
}

/** A ticket that records what happened to its message; set `cancelled` to play a lost connection. */
export function ticket(
  onAck: () => void = () => {},
): AckTicket & { held: boolean; acked: boolean; cancelled: boolean } {
  const t = {
    held: false,
    acked: false,
    cancelled: false,
    ack() {
      t.acked = true
      onAck()
    },
    hold() {
      t.held = true
    },
  }
  return t
}
