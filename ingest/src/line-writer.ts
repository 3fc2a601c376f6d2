/**
 * One InfluxDB write target, whatever its API version. A writer makes exactly one attempt per call:
 * retrying, batching and splitting live in `batch-writer.ts` and spooling in `durable-sink.ts`, so
 * neither touches the HTTP code.
 */
export interface LineWriter {
  /** Where the lines go, for logs (no credentials). */
  readonly target: string
  /** Creates or updates the schema (1.x: database, retention policies, continuous queries); idempotent. */
  prepare(): Promise<void>
  /**
   * Writes line-protocol lines (precision ms) in one request.
   * @throws WriteError telling whether the same lines may succeed later.
   */
  write(lines: readonly string[], signal?: AbortSignal): Promise<void>
  close(): Promise<void>
}

/**
 * A failed write. `retryable` is true when the server or network failed (keep the batch, back off);
 * false when InfluxDB refused the data itself (a parse error, a field type conflict): sending the same
 * lines again can never succeed, so they have to be isolated and set aside.
 */
export class WriteError extends Error {
  override name = 'WriteError'
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message)
  }
}

/** HTTP statuses that mean "this data is wrong", as opposed to "the server cannot take it now". */
export function isDataRejection(status: number): boolean {
  return status === 400 || status === 413 || status === 422
}
