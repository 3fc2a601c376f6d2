import type { FastifyInstance } from 'fastify'
import type { ApiMetrics } from '../metrics.ts'

/** Counts every answered request by route pattern, never raw URL, so label cardinality stays bounded. */
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
    done()
  })
}
