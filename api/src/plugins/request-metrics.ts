import type { FastifyInstance } from 'fastify'
import type { ApiMetrics } from '../metrics.ts'

/**
 * The app's one onResponse hook. Counts every answered request by route pattern, never raw URL, so
 * label cardinality stays bounded; and closes the socket of an upgrade request that was answered over
 * HTTP (a WebSocket route refusing it, or any other route: only the WebSocket routes take upgrades).
 */
export function setupRequestMetrics(app: FastifyInstance, metrics: ApiMetrics): void {
  // One increment function per series, found by a plain string key rather than formatting labels each time.
  const series = new Map<string, () => void>()
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const key = `${request.method} ${reply.statusCode} ${route}`
    let inc = series.get(key)
    if (inc === undefined) {
      inc = metrics.httpRequests.incrementer({
        method: request.method,
        route,
        status: String(reply.statusCode),
      })
      series.set(key, inc)
    }
    inc()
    // Node sets `upgrade` on requests it handed to the server's 'upgrade' listeners (absent from its types).
    if ((request.raw as { upgrade?: boolean }).upgrade === true) request.raw.socket.destroy()
    done()
  })
}
