import { AnalyticsQuery, EfficiencyResponse, UtilisationResponse } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  readEfficiency,
  readUtilisation,
  type AnalyticsRequest,
  type RatingOf,
} from '../../analytics/analytics.ts'
import { resolveHistoryRequest } from '../../history/history-request.ts'
import { DEFAULT_TIMEZONE } from '../../sites/site-catalogue.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/**
 * Raw samples are exact but slow over long ranges; one day of them (plus slack for a day that does not
 * start on the hour) is still quick, longer ranges come from the 1-minute rollups.
 */
const ANALYTICS_RAW_MAX_RANGE_MS = 26 * 3_600_000
const DEFAULT_RANGE_MS = 86_400_000

/** `GET /metrics/utilisation` and `GET /metrics/efficiency`. */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { influx, clock, catalogue, live, requireRole, sampleIntervalMs } = services

  // The live description is the station's own word; the site file fills in stations that have gone quiet.
  const ratingOf: RatingOf = (site, station, connector) => {
    const summary = live.summaries({ site, station })[0]
    const meta = summary?.meta.connectors.find((c) => c.id === connector)
    // A charger that does not state its rating (OCPP says none) falls back to the site file.
    if (summary !== undefined && meta?.max_power_w !== undefined && meta.kind !== undefined) {
      return { maxPowerW: meta.max_power_w, kind: meta.kind, cooling: summary.meta.cooling ?? null }
    }
    const described = catalogue.sites.get(site)?.stations.get(station)
    const rated = described?.connectors.find((c) => c.id === connector)
    return described === undefined || rated === undefined
      ? null
      : { maxPowerW: rated.maxPowerW, kind: rated.kind, cooling: described.cooling }
  }

  const request = (query: AnalyticsQuery): AnalyticsRequest => {
    const tz = (query.site !== undefined && catalogue.sites.get(query.site)?.timezone) || DEFAULT_TIMEZONE
    const nowMs = clock()
    const req = resolveHistoryRequest(query, nowMs, tz, {
      defaultRangeMs: DEFAULT_RANGE_MS,
      rawMaxRangeMs: ANALYTICS_RAW_MAX_RANGE_MS,
    })
    const { site, station, connector } = query
    return {
      req,
      scope: {
        ...(site !== undefined && { site }),
        ...(station !== undefined && { station }),
        ...(connector !== undefined && { connector }),
      },
      group: query.group ?? 'none',
      nowMs,
      sampleIntervalMs,
    }
  }
  const window = (a: AnalyticsRequest) => ({
    from: a.req.fromMs,
    to: a.req.toMs,
    tz: a.req.tz,
    group: a.group,
    resolution: a.req.resolution,
  })
  const errors = { 400: ErrorResponse, 401: ErrorResponse }

  app.get(
    '/metrics/utilisation',
    {
      onRequest: requireRole('operator'),
      schema: {
        querystring: AnalyticsQuery,
        response: { 200: UtilisationResponse, ...errors },
        security: [{ bearer: [] }],
      },
    },
    async (req) => {
      const a = request(req.query)
      return { ...window(a), rows: await readUtilisation(influx, a, ratingOf) }
    },
  )

  app.get(
    '/metrics/efficiency',
    {
      onRequest: requireRole('operator'),
      schema: {
        querystring: AnalyticsQuery,
        response: { 200: EfficiencyResponse, ...errors },
        security: [{ bearer: [] }],
      },
    },
    async (req) => {
      const a = request(req.query)
      return { ...window(a), ...(await readEfficiency(influx, a, ratingOf)) }
    },
  )
}
