import { Alert, AlertParams, AlertsQuery, AlertsResponse } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound, upgradeRequired } from '../../errors.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/** `GET /alerts`, `GET /alerts/ws` (live) and `POST /alerts/:id/ack` (operator). */
export const alertRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { alerts, clock, requireRole } = services
  const onRequest = requireRole('operator')
  const security = [{ bearer: [] }]

  app.get(
    '/alerts',
    {
      onRequest,
      schema: {
        querystring: AlertsQuery,
        response: { 200: AlertsResponse, 400: ErrorResponse, 401: ErrorResponse },
        security,
      },
    },
    async (request) => ({ alerts: alerts.list({ ...request.query, limit: request.query.limit ?? 200 }) }),
  )

  app.post(
    '/alerts/:id/ack',
    {
      onRequest,
      schema: {
        params: AlertParams,
        response: { 200: Alert, 401: ErrorResponse, 404: ErrorResponse },
        security,
      },
    },
    async (request) => {
      const alert = alerts.acknowledge(request.params.id, request.role ?? 'operator', clock())
      if (alert === undefined) throw notFound(`alert ${request.params.id}`)
      return alert
    },
  )

  app.route({
    method: 'GET',
    url: '/alerts/ws',
    onRequest,
    schema: { security },
    handler: async () => {
      throw upgradeRequired()
    },
    wsHandler: (socket) => {
      socket.send(JSON.stringify({ type: 'alerts', data: alerts.list({ active: true }) }))
      const unsubscribe = alerts.subscribe((alert) => {
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: 'alert', data: alert }))
      })
      socket.on('close', unsubscribe)
      socket.on('error', unsubscribe)
    },
  })
}
