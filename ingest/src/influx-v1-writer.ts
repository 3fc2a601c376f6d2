import { Agent as HttpAgent } from 'node:http'
import { Agent as HttpsAgent } from 'node:https'
import type { IBackoffStrategy } from 'influx/lib/src/backoff/backoff.js'
import { Pool, RequestError } from 'influx/lib/src/pool.js'
import { RETENTION_POLICIES } from '@evmon/contracts'
import { isDataRejection, WriteError, type LineWriter } from './line-writer.ts'
import { ensureSchema, type StatementResult } from './schema-lifecycle.ts'

/** Where and how to write to an InfluxDB 1.x server. */
export interface InfluxV1Options {
  url: string
  database: string
  username?: string
  password?: string
  timeoutMs: number
  /** Sockets kept open to the server; match the number of concurrent writes. */
  maxSockets: number
}

// The pool takes a host out of rotation after a network error or 5xx for a back-off period, and with a
// single host every request in that period fails with "No host available". Retrying is the batch
// writer's job, with its own back-off; a zero delay here keeps the host always eligible.
const keepHostEnabled: IBackoffStrategy = {
  getDelay: () => 0,
  next: () => keepHostEnabled,
  reset: () => keepHostEnabled,
}

/**
 * A {@link LineWriter} for InfluxDB 1.x built on the `influx` package's connection `Pool` (the class
 * `InfluxDB` itself uses). `InfluxDB#writePoints` would re-serialise points with its own escaping;
 * posting the lines from `@evmon/contracts`' `toLine` to `/write` keeps one serializer in the project.
 * The pool still provides the URL handling (path prefixes, https), timeouts and Basic auth.
 */
export function createInfluxV1Writer(options: InfluxV1Options): LineWriter {
  const url = new URL(options.url)
  const agent =
    url.protocol === 'https:'
      ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets })
  const pool = new Pool({ maxRetries: 0, requestTimeout: options.timeoutMs, backoff: keepHostEnabled })
  pool.addHost(options.url, { agent })
  const auth = options.username === undefined ? undefined : `${options.username}:${options.password ?? ''}`
  const target = `${url.origin}${url.pathname === '/' ? '' : url.pathname} db=${options.database}`

  async function run(statement: string): Promise<StatementResult> {
    const body = (await pool.json({ method: 'POST', path: '/query', query: { q: statement }, auth })) as {
      results?: StatementResult[]
    }
    return body.results?.[0] ?? {}
  }

  const prepare = () => ensureSchema(options.database, run)

  async function write(lines: readonly string[], signal?: AbortSignal): Promise<void> {
    try {
      await pool.discard({
        method: 'POST',
        path: '/write',
        // Named, not left to the default policy: the continuous queries read from exactly this one.
        query: { db: options.database, rp: RETENTION_POLICIES.raw.name, precision: 'ms' },
        body: lines.join('\n'),
        auth,
        signal,
      })
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (!(err instanceof RequestError)) throw new WriteError((err as Error).message, true)
      const status = err.res.statusCode ?? 0
      // Someone dropped the database or policy under us: recreate the schema, then the retry succeeds.
      if (status === 404 && /not found/.test(err.message)) await prepare().catch(() => undefined)
      throw new WriteError(err.message, !isDataRejection(status), status)
    }
  }

  return {
    target,
    prepare,
    write,
    async close() {
      agent.destroy()
    },
  }
}
