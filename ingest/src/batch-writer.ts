import { backoffDelayMs, sleep as defaultSleep, type BackoffPolicy } from './backoff.ts'
import { WriteError, type LineWriter } from './line-writer.ts'

/** A line InfluxDB refused, with its answer. */
export interface RejectedLine {
  line: string
  detail: string
  status?: number
}

export interface BatchWriteResult {
  /** Lines InfluxDB accepted. */
  written: number
  /** Lines InfluxDB refused even when sent alone; they will never be written. */
  rejected: RejectedLine[]
}

/** What every attempt did, for counters, health and logs. */
export interface WriteAttemptEvents {
  succeeded(lines: number): void
  /** `retryInMs` is set when the same lines will be sent again after that delay. */
  failed(error: WriteError, lines: number, retryInMs?: number): void
}

export interface BatchWriterOptions {
  writer: LineWriter
  backoff: BackoffPolicy
  events?: WriteAttemptEvents
  /** Aborting stops retrying; the returned promise then rejects with the signal's reason. */
  signal?: AbortSignal
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
  random?: () => number
}

/**
 * Writes a batch until every line is either stored or proven bad. Server and network failures are
 * retried with capped exponential back-off, keeping the whole batch; a data rejection (HTTP 400: parse
 * error, field type conflict, partial write) splits the batch in halves until each bad line stands
 * alone, so one bad line costs about 2·log2(n) extra requests and never holds back the others.
 * Halves are written one after the other, so the caller's cap on concurrent writes still holds.
 */
export async function writeBatch(
  lines: readonly string[],
  options: BatchWriterOptions,
): Promise<BatchWriteResult> {
  const { writer, backoff, events, signal } = options
  const sleep = options.sleep ?? defaultSleep
  const result: BatchWriteResult = { written: 0, rejected: [] }

  async function attempt(part: readonly string[]): Promise<WriteError | undefined> {
    for (let retry = 0; ; retry++) {
      signal?.throwIfAborted()
      try {
        await writer.write(part, signal)
        events?.succeeded(part.length)
        return undefined
      } catch (err) {
        if (!(err instanceof WriteError)) throw err
        if (!err.retryable) {
          events?.failed(err, part.length)
          return err
        }
        const delay = backoffDelayMs(retry, backoff, options.random)
        events?.failed(err, part.length, delay)
        await sleep(delay, signal)
      }
    }
  }

  async function isolate(part: readonly string[]): Promise<void> {
    const refused = await attempt(part)
    if (!refused) {
      result.written += part.length
    } else if (part.length === 1) {
      result.rejected.push({ line: part[0] as string, detail: refused.message, status: refused.status })
    } else {
      const middle = Math.ceil(part.length / 2)
      await isolate(part.slice(0, middle))
      await isolate(part.slice(middle))
    }
  }

  if (lines.length > 0) await isolate(lines)
  return result
}
