import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import {
  AnalyticsQuery,
  EXCLUSION_REASONS,
  EfficiencyResponse,
  TIME_PATTERN,
  UtilisationResponse,
  type ExcludedWindow,
} from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox, TSchema } from '@fastify/type-provider-typebox'
import {
  readEfficiency,
  readUtilisation,
  type AnalyticsRequest,
  type CarOf,
  type StationRatingOf,
} from '../../analytics/analytics.ts'
import { SessionSpeedCache } from '../../analytics/speed.ts'
import { badRequest } from '../../errors.ts'
import { resolveHistoryRequest } from '../../history/history-request.ts'
import { parseTime } from '../../influx/history-window.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, operatorRoute } from '../schemas.ts'

/**
 * Raw samples are exact but slow over long ranges; one day of them (plus slack for a day that does not
 * start on the hour) is still quick, longer ranges come from the 1-minute rollups.
 */
const ANALYTICS_RAW_MAX_RANGE_MS = 26 * 3_600_000
const DEFAULT_RANGE_MS = 86_400_000
const TIME = new RegExp(TIME_PATTERN)

/** `from/to/reason,…` as excluded windows; a malformed or empty window is a 400. */
function parseExcluded(text: string | undefined): ExcludedWindow[] {
  if (text === undefined) return []
  return text.split(',').map((entry) => {
    const [from = '', to = '', reason = ''] = entry.split('/')
    if (!TIME.test(from) || !TIME.test(to)) throw badRequest(`exclude: ${entry} needs from/to times`)
    if (!(EXCLUSION_REASONS as readonly string[]).includes(reason))
      throw badRequest(`exclude: reason must be one of ${EXCLUSION_REASONS.join(', ')}`)
    const window = { from: parseTime(from, 'exclude'), to: parseTime(to, 'exclude') }
    if (window.to <= window.from) throw badRequest(`exclude: ${entry} ends before it starts`)
    return { ...window, reason: reason as ExcludedWindow['reason'] }
  })
}

/** `GET /metrics/utilisation` and `GET /metrics/efficiency`. */
export const analyticsRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { influx, clock, catalogue, live, requireRole, excludedTime } = services

  // The live description is the station's own word; the site file fills in stations that have gone
  // quiet, and chargers that do not state their ratings (OCPP says none).
  const ratingOf: StationRatingOf = (site, station) => {
    const meta = live.summaries({ site, station })[0]?.meta
    const connectors = meta?.connectors.flatMap((c) =>
      c.kind === undefined || c.max_power_w === undefined
        ? []
        : [{ id: c.id, kind: c.kind, maxPowerW: c.max_power_w }],
    )
    if (
      meta !== undefined &&
      connectors !== undefined &&
      connectors.length === meta.connectors.length &&
      connectors.length > 0
    ) {
      return { cabinetMaxPowerW: meta.cabinet_max_power_w ?? null, cooling: meta.cooling ?? null, connectors }
    }
    const described = catalogue.sites.get(site)?.stations.get(station)
    return described === undefined
      ? null
      : {
          cabinetMaxPowerW: described.cabinetMaxPowerW > 0 ? described.cabinetMaxPowerW : null,
          cooling: described.cooling,
          connectors: described.connectors,
        }
  }
  const speedCache = new SessionSpeedCache()
  const carOf: CarOf = (site, vehicle) => {
    const car = catalogue.sites.get(site)?.vehicles.find((v) => v.name === vehicle || v.id === vehicle)
    return car === undefined ? null : { model: car.id, voltageClass: car.voltageClass }
  }

  const request = (query: AnalyticsQuery): AnalyticsRequest => {
    const tz = (query.site !== undefined && catalogue.sites.get(query.site)?.timezone) || DEFAULT_TIME_ZONE
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
      // The declared windows of the sites (and stations) in scope, then the request's own.
      excluded: [
        ...excludedTime.filter(
          (w) =>
            (site === undefined || w.site === site) &&
            (station === undefined || w.station === undefined || w.station === station),
        ),
        ...parseExcluded(query.exclude),
      ],
    }
  }
  const window = (a: AnalyticsRequest) => ({
    from: a.req.fromMs,
    to: a.req.toMs,
    tz: a.req.tz,
    group: a.group,
    resolution: a.req.resolution,
  })

  /** Both routes take the same query; what differs is their answer. */
  const analyticsRoute = <R extends TSchema>(answer: R) =>
    operatorRoute(requireRole, { querystring: AnalyticsQuery, response: { 200: answer, 400: ErrorResponse } })

  app.get('/metrics/utilisation', analyticsRoute(UtilisationResponse), async (req) => {
    const a = request(req.query)
    return { ...window(a), excluded: [...a.excluded], rows: await readUtilisation(influx, a, ratingOf) }
  })

  app.get('/metrics/efficiency', analyticsRoute(EfficiencyResponse), async (req) => {
    const a = request(req.query)
    return { ...window(a), ...(await readEfficiency(influx, a, ratingOf, carOf, speedCache)) }
  })
}
