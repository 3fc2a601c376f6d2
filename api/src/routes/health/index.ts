import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import type { Services } from '../../services.ts'

const Health = Type.Object({
  ok: Type.Boolean(),
  mqtt: Type.Object({ connected: Type.Boolean() }),
  influx: Type.Object({ reachable: Type.Boolean() }),
})

/** `GET /healthz`: 200 when both upstreams answer, 503 (same body) when either does not. */
export const healthRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get('/healthz', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const connected = services.feed.connected()
    const reachable = await services.influx.ping()
    const ok = connected && reachable
    return reply.code(ok ? 200 : 503).send({ ok, mqtt: { connected }, influx: { reachable } })
  })
}
