import { LiveSnapshot } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { upgradeRequired } from '../../errors.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, LiveFilterQuery } from '../schemas.ts'

/** `GET /live` (the live view) and `GET /live/ws` (the same view, pushed as it changes). */
export const liveRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { live, stream, clock } = services

  app.get(
    '/live',
    { schema: { querystring: LiveFilterQuery, response: { 200: LiveSnapshot, 400: ErrorResponse } } },
    async (request) => live.snapshot(clock(), request.query),
  )

  app.route({
    method: 'GET',
    url: '/live/ws',
    schema: { querystring: LiveFilterQuery },
    // With both handlers, @fastify/websocket dispatches upgrades to wsHandler and plain requests to handler.
    handler: async () => {
      throw upgradeRequired()
    },
    wsHandler: (socket, request) => {
      const remove = stream.add(socket, request.query)
      socket.on('close', remove)
      socket.on('error', (err) => {
        request.log.warn({ err }, 'live stream socket error')
        remove()
      })
    },
  })
}
