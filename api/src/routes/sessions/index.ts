import { SessionDetail, SessionParams, SessionsQuery, SessionsResponse } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { resolveWindow } from '../../influx/history-window.ts'
import { listSessions, readSession } from '../../sessions/sessions.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, operatorRoute } from '../schemas.ts'

const DEFAULT_RANGE_MS = 7 * 86_400_000

/** `GET /sessions` and `GET /sessions/:id`. */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { influx, clock, catalogue, requireRole } = services
  const errors = { 400: ErrorResponse, 404: ErrorResponse }

  app.get(
    '/sessions',
    operatorRoute(requireRole, {
      querystring: SessionsQuery,
      response: { 200: SessionsResponse, ...errors },
    }),
    async (request) => {
      const { site, station, connector, limit = 50, offset = 0 } = request.query
      const now = clock()
      const window = resolveWindow(request.query, now, DEFAULT_RANGE_MS)
      const scope = {
        ...(site !== undefined && { site }),
        ...(station !== undefined && { station }),
        ...(connector !== undefined && { connector }),
      }
      const page = await listSessions(
        influx,
        scope,
        { fromMs: window.fromMs, toMs: window.toMs, nowMs: now },
        limit,
        offset,
      )
      return { from: window.fromMs, to: window.toMs, limit, offset, ...page }
    },
  )

  app.get(
    '/sessions/:id',
    operatorRoute(requireRole, { params: SessionParams, response: { 200: SessionDetail, ...errors } }),
    async (request) => {
      return readSession(influx, request.params.id, clock(), (site) => catalogue.sites.get(site))
    },
  )
}
