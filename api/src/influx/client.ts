import type { FastifyInstance } from 'fastify'
import { influxQueryFailed, influxUnavailable } from '../errors.ts'

/** One series of an InfluxQL answer, as InfluxDB 1.x returns it with `epoch=ms`. */
export interface InfluxSeries {
  name: string
  tags?: Record<string, string>
  columns: string[]
  values: unknown[][]
}

/** The answer to one statement of a query. */
export interface InfluxStatementResult {
  statement_id: number
  series?: InfluxSeries[]
  error?: string
}

/** What the routes need from InfluxDB: read-only InfluxQL and a liveness probe. */
export interface InfluxClient {
  /** Runs the statements of `influxql` (separated by `;`) in the configured database; one result each, in order. */
  query(influxql: string): Promise<InfluxStatementResult[]>
  /** True when InfluxDB answers `/ping` in time. */
  ping(): Promise<boolean>
  /** Aborts queries still in flight. */
  close(): void
}

/** Where InfluxDB is, which database to read and, optionally, its credentials and timeouts. */
export interface InfluxClientOptions {
  url: string
  database: string
  username?: string
  password?: string
  queryTimeoutMs?: number
  pingTimeoutMs?: number
}

const influxDefaults = {
  queryTimeoutMs: 10_000, // one history query; a slower answer is treated as InfluxDB being unavailable
  pingTimeoutMs: 2_000, // /healthz must answer fast even when InfluxDB hangs
} as const

/**
 * An InfluxQL client over plain `fetch` against InfluxDB 1.x `/query` (1.6.7 has no `/api/v2`).
 * Times come back as epoch milliseconds. Failures become catalogue errors: no answer → 503, a refused
 * statement → 502, both masked by the error handler.
 */
export function createInfluxClient(options: InfluxClientOptions): InfluxClient {
  const base = options.url.replace(/\/+$/, '')
  const closing = new AbortController()
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (options.username !== undefined) {
    const token = Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')
    headers.authorization = `Basic ${token}`
  }
  const signal = (timeoutMs: number): AbortSignal =>
    AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)])

  return {
    async query(influxql) {
      const body = new URLSearchParams({ db: options.database, q: influxql, epoch: 'ms' })
      let response: Response
      let text: string
      try {
        response = await fetch(`${base}/query`, {
          method: 'POST',
          headers,
          body,
          signal: signal(options.queryTimeoutMs ?? influxDefaults.queryTimeoutMs),
        })
        text = await response.text()
      } catch (err) {
        throw influxUnavailable((err as Error).message, err)
      }
      if (response.status >= 500) throw influxUnavailable(`HTTP ${response.status}: ${text.slice(0, 200)}`)
      if (!response.ok) throw influxQueryFailed(`HTTP ${response.status}: ${text.slice(0, 200)}`)
      let results: InfluxStatementResult[]
      try {
        results = (JSON.parse(text) as { results?: InfluxStatementResult[] }).results ?? []
      } catch {
        throw influxQueryFailed(`answer is not JSON: ${text.slice(0, 200)}`)
      }
      const failed = results.find((r) => r.error !== undefined)
      if (failed) throw influxQueryFailed(failed.error as string)
      return results
    },
    async ping() {
      try {
        const response = await fetch(`${base}/ping`, {
          headers,
          signal: signal(options.pingTimeoutMs ?? influxDefaults.pingTimeoutMs),
        })
        await response.arrayBuffer()
        return response.ok
      } catch {
        return false
      }
    },
    close: () => closing.abort(),
  }
}

/** Hooks an InfluxDB client into the app's lifecycle. */
export function setupInflux(app: FastifyInstance, client: InfluxClient): InfluxClient {
  app.addHook('onClose', async () => client.close())
  return client
}
