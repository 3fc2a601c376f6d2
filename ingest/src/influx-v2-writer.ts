import { HttpError, InfluxDB } from '@influxdata/influxdb-client'
import { isDataRejection, WriteError, type LineWriter } from './line-writer.ts'

/** Where and how to write to an InfluxDB 2.x/3.x server (or anything speaking `/api/v2/write`). */
export interface InfluxV2Options {
  url: string
  token: string
  org: string
  bucket: string
  timeoutMs: number
}

/**
 * A {@link LineWriter} for the InfluxDB 2.x write API, built on `@influxdata/influxdb-client`'s
 * transport: one POST per call, with the client's token auth, URL handling and timeouts. Its
 * `WriteApi` is left aside on purpose: it batches and retries in the background by itself, which would
 * double ours and hide which lines the server refused.
 *
 * `prepare` creates nothing: a bucket carries its retention and is provisioned by whoever runs the
 * server, and creating one needs more privilege than the write token should have. A missing bucket
 * shows as failing writes (404, retried) and an unhealthy `/healthz`.
 */
export function createInfluxV2Writer(options: InfluxV2Options): LineWriter {
  const transport = new InfluxDB({ url: options.url, token: options.token, timeout: options.timeoutMs })
    .transport
  const query = new URLSearchParams({ org: options.org, bucket: options.bucket, precision: 'ms' })
  const path = `/api/v2/write?${query}`

  return {
    target: `${new URL(options.url).origin} org=${options.org} bucket=${options.bucket}`,
    async prepare() {},
    async write(lines, signal) {
      try {
        await transport.request(path, lines.join('\n'), {
          method: 'POST',
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          signal,
        })
      } catch (err) {
        if (signal?.aborted) throw signal.reason
        if (!(err instanceof HttpError)) throw new WriteError((err as Error).message, true)
        const detail = err.body ? `${err.statusCode}: ${err.body}` : err.message
        throw new WriteError(detail, !isDataRejection(err.statusCode), err.statusCode)
      }
    },
    async close() {},
  }
}
