import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { METRICS_CONTENT_TYPE } from '@evmon/runtime'
import type { Services } from '../../services.ts'

/** `GET /metrics`: Prometheus text format. */
export const metricsRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get('/metrics', async (_request, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(await services.metrics.registry.metrics()),
  )
}
