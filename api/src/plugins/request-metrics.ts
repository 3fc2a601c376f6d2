import type { FastifyInstance } from 'fastify'
import type { ApiMetrics } from '../metrics.ts'

/** Counts every answered request by route pattern, never raw URL, so label cardinality stays bounded. */
export function setupRequestMetrics(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequests.inc({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
    })
  })
}
