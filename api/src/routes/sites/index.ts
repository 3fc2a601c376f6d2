import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import { Type } from '@fastify/type-provider-typebox'
import { Id, SiteLoadResponse, TelemetryQuery } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { rowsOf } from '../../analytics/rows.ts'
import { whereClause } from '../../analytics/scope.ts'
import { resolveHistoryRequest } from '../../history/history-request.ts'
import { quoteIdentifier, tzClause } from '../../history/influxql.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

const SiteLoadQuery = Type.Omit(TelemetryQuery, ['site', 'fields'])

/** `GET /sites/:id/load`: the site's grid power, Σ of its stations' bucket means. */
export const siteRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { influx, clock, catalogue, requireRole } = services

  app.get(
    '/sites/:id/load',
    {
      onRequest: requireRole('operator'),
      schema: {
        params: Type.Object({ id: Id }),
        querystring: SiteLoadQuery,
        response: { 200: SiteLoadResponse, 400: ErrorResponse, 401: ErrorResponse },
        security: [{ bearer: [] }],
      },
    },
    async (request) => {
      const site = request.params.id
      const known = catalogue.sites.get(site)
      const req = resolveHistoryRequest(request.query, clock(), known?.timezone ?? DEFAULT_TIME_ZONE)
      const peak = req.resolution === 'raw' ? 'grid_power_w' : 'peak_grid_power_w'
      const [result] = await influx.query(
        `SELECT mean("grid_power_w") AS p, max(${quoteIdentifier(peak)}) AS peak FROM ${req.sources.station} WHERE ${whereClause({ site }, req.fromMs, req.toMs)} GROUP BY time(${req.everyMs}ms), "station" fill(none)${tzClause(req.tz)}`,
      )
      const buckets = new Map<number, { t: number; power_w: number; peak_w: number | null }>()
      const stations: Record<string, Array<{ t: number; power_w: number }>> = {}
      for (const r of rowsOf(result)) {
        const p = r.values.p ?? 0
        ;(stations[r.station] ??= []).push({ t: r.t, power_w: p })
        const b = buckets.get(r.t) ?? { t: r.t, power_w: 0, peak_w: null }
        b.power_w += p
        // Σ of the stations' peaks: an upper bound of the site's coincident peak in the bucket.
        if (r.values.peak !== null && r.values.peak !== undefined) b.peak_w = (b.peak_w ?? 0) + r.values.peak
        buckets.set(r.t, b)
      }
      return {
        site,
        from: req.fromMs,
        to: req.toMs,
        every: req.every,
        tz: req.tz,
        resolution: req.resolution,
        grid_limit_w: known?.gridLimitW ?? null,
        points: [...buckets.values()].sort((a, b) => a.t - b.t),
        stations,
      }
    },
  )
}
