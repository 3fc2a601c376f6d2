import type { FastifyInstance } from 'fastify'
import type { ApiMetrics } from '../metrics.ts'

/**
 * The app's one onResponse hook. Counts every answered request by route pattern, never raw URL, so
 * label cardinality stays bounded; and closes the socket of an upgrade request that was answered over
 * HTTP (a WebSocket route refusing it, or any other route: only the WebSocket routes take upgrades).
 */
export function setupRequestMetrics(app: FastifyInstance, metrics: ApiMetrics): void {
  // One counter child per series, found by a plain string key rather than hashing labels each time.
  const series = new Map<string, { inc(): void }>()
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const key = `${request.method} ${reply.statusCode} ${route}`
    let child = series.get(key)
    if (child === undefined) {
      child = metrics.httpRequests.labels(request.method, route, String(reply.statusCode))
      series.set(key, child)
    }
    child.inc()
    // Node sets `upgrade` on requests it handed to the server's 'upgrade' listeners (absent from its types).
    if ((request.raw as { upgrade?: boolean }).upgrade === true) request.raw.socket.destroy()
    done()
  })
}
