import type { DeadLetter, DeadLetterEntry } from '../src/dead-letter.ts'
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

export function recordingDeadLetter(): DeadLetter & { entries: DeadLetterEntry[] } {
  const entries: DeadLetterEntry[] = []
  return {
    entries,
    record: (entry) => entries.push(entry),
    stats: () => ({ written: entries.length, dropped: 0 }),
    async close() {},
  }
}
