import { Readable } from 'node:stream'
import { ExportQuery, ReplayQuery } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { badRequest, stationNotFound, upgradeRequired } from '../../errors.ts'
import { ReplaySession } from '../../export/replay-session.ts'
import { csvLines, ndjsonLines, storedMessages } from '../../export/stored-messages.ts'
import { chooseResolution } from '../../influx/resolution.ts'
import { parseTime } from '../../influx/history-window.ts'
import { readStationSites } from '../../history/station-history.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/** `GET /export` (streamed NDJSON or CSV) and `GET /replay/ws` (paced WebSocket), engineer tokens only. */
export const exportRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { influx, clock, live, requireRole } = services
  const onRequest = requireRole('engineer')
  const security = [{ bearer: [] }]

  type Target = Awaited<ReturnType<typeof target>>
  const targets = new WeakMap<FastifyRequest, Target>()

  /** Validates the range (raw points only: they are what a replay needs) and finds the station's site. */
  async function target(query: { site?: string; station: string; from: string; to: string }) {
    const fromMs = parseTime(query.from, 'from')
    const toMs = parseTime(query.to, 'to')
    if (fromMs >= toMs) throw badRequest('from must be before to')
    chooseResolution('raw', fromMs, toMs, clock())
    const sites = [
      ...new Set([...live.sitesOf(query.station), ...(await readStationSites(influx, query.station))]),
    ]
    const site = query.site ?? (sites.length === 1 ? sites[0] : undefined)
    if (site === undefined || !sites.includes(site)) {
      if (sites.length > 1 && query.site === undefined)
        throw badRequest(`station ${query.station} exists at several sites: choose one with ?site=`)
      throw stationNotFound(query.station, query.site)
    }
    return { site, fromMs, toMs }
  }

  app.get(
    '/export',
    {
      onRequest,
      schema: {
        querystring: ExportQuery,
        response: { 400: ErrorResponse, 401: ErrorResponse, 403: ErrorResponse, 404: ErrorResponse },
        security,
      },
    },
    async (request, reply) => {
      const { station, format = 'ndjson' } = request.query
      const { site, fromMs, toMs } = await target(request.query)
      const messages = storedMessages(influx, site, station, fromMs, toMs)
      const lines = format === 'csv' ? csvLines(messages, site, station) : ndjsonLines(messages)
      const name = `${site}-${station}-${fromMs}-${toMs}.${format}`
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(Readable.from(lines) as never) // a stream: the schema documents errors only
    },
  )

  app.route({
    method: 'GET',
    url: '/replay/ws',
    onRequest,
    schema: { querystring: ReplayQuery, security },
    // Validating here means a bad range is refused with a 4xx before the upgrade.
    preHandler: async (request) => {
      targets.set(request, await target(request.query))
    },
    handler: async () => {
      throw upgradeRequired()
    },
    wsHandler: (socket, request) => {
      const found = targets.get(request)
      if (found === undefined) {
        // Unreachable: the preHandler either stored the target or refused the upgrade.
        socket.close(1011, 'replay target missing')
        return
      }
      const { site, fromMs, toMs } = found
      const session = new ReplaySession(socket, {
        fromMs,
        toMs,
        speed: request.query.speed ?? 60,
        read: (from, to) => storedMessages(influx, site, request.query.station, from, to),
      })
      socket.on('message', (data: Buffer) => session.control(data.toString('utf8')))
      socket.on('close', () => session.close())
      session.run().catch((err: unknown) => {
        request.log.warn({ err }, 'replay failed')
        socket.close(1011, 'replay failed')
      })
    },
  })
}
