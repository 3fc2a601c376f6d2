import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import { Type } from '@fastify/type-provider-typebox'
import { Id, SiteLoadResponse, TelemetryQuery } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { resolveHistoryRequest } from '../../history/history-request.ts'
import { readSiteLoad } from '../../history/site-load.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, operatorRoute } from '../schemas.ts'

const SiteLoadQuery = Type.Omit(TelemetryQuery, ['site', 'fields'])

/** `GET /sites/:id/load`: the site's grid power, Σ of its stations' bucket means. */
export const siteRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { influx, clock, catalogue, requireRole } = services

  app.get(
    '/sites/:id/load',
    operatorRoute(requireRole, {
      params: Type.Object({ id: Id }),
      querystring: SiteLoadQuery,
      response: { 200: SiteLoadResponse, 400: ErrorResponse },
    }),
    async (request) => {
      const site = request.params.id
      const known = catalogue.sites.get(site)
      const req = resolveHistoryRequest(request.query, clock(), known?.timezone ?? DEFAULT_TIME_ZONE)
      const { points, stations } = await readSiteLoad(influx, site, req)
      return {
        site,
        from: req.fromMs,
        to: req.toMs,
        every: req.every,
        tz: req.tz,
        resolution: req.resolution,
        grid_limit_w: known?.gridLimitW ?? null,
        points,
        stations,
      }
    },
  )
}
