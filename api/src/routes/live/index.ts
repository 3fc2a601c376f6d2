import { LiveQuery, LiveView } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { upgradeRequired } from '../../errors.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, operatorRoute } from '../schemas.ts'

/** `GET /live`: the live view with site totals. */
export const liveRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { views, requireRole } = services

  app.get(
    '/live',
    operatorRoute(requireRole, { querystring: LiveQuery, response: { 200: LiveView, 400: ErrorResponse } }),
    // Synchronous (no promise per request): the answer is cached JSON bytes, sent as they are.
    (request, reply) => {
      const { detail, ...filter } = request.query
      void reply.type('application/json; charset=utf-8').send(views.json(filter, detail) as never)
    },
  )
}

/**
 * `GET /live/ws`: the same view, as deltas. Apart from `GET /live` so that only this route sits in the
 * context that has @fastify/websocket's hooks (see app.ts).
 */
export const liveStreamRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { stream, requireRole } = services
  app.route({
    method: 'GET',
    url: '/live/ws',
    onRequest: requireRole('operator'),
    schema: { querystring: LiveQuery, security: [{ bearer: [] }] },
    // With both handlers, @fastify/websocket dispatches upgrades to wsHandler and plain requests to handler.
    handler: async () => {
      throw upgradeRequired()
    },
    wsHandler: (socket, request) => {
      const { site, station } = request.query
      const remove = stream.add(socket, {
        ...(site !== undefined && { site }),
        ...(station !== undefined && { station }),
      })
      socket.on('close', remove)
      socket.on('error', (err) => {
        request.log.warn({ err }, 'live stream socket error')
        remove()
      })
    },
  })
}
