import { DEFAULT_TIME_ZONE } from '@evmon/contracts/site'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ambiguousStation, stationNotFound } from '../../errors.ts'
import { selectFields } from '../../history/history-fields.ts'
import { resolveHistoryRequest } from '../../history/history-request.ts'
import { readStationHistory, readStationSites } from '../../history/station-history.ts'
import type { StationSummary } from '../../live/live-state.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse, operatorRoute } from '../schemas.ts'
import { TelemetryQuery, TelemetryResponse } from '@evmon/contracts'
import { RAW_ONLY_FIELDS } from '../../history/history-fields.ts'
import { StationParams, StationsQuery, StationsResponse, type StationView } from './schemas.ts'

const toView = ({ site, id, meta, online }: StationSummary): StationView => ({
  id,
  site,
  name: meta.name,
  cooling: meta.cooling,
  ...(meta.location !== undefined && { location: meta.location }),
  ...(meta.timezone !== undefined && { timezone: meta.timezone }),
  cabinet_max_power_w: meta.cabinet_max_power_w,
  connectors: meta.connectors,
  online,
})

/** `GET /stations` (from retained descriptions) and `GET /stations/:id/history` (from InfluxDB). */
export const stationRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  const { live, influx, clock, catalogue, requireRole } = services

  /**
   * The site of a station id: the one given, or the only one it is known at — live first, history
   * second, so a station that has gone quiet keeps its history.
   */
  async function resolveSite(station: string, site: string | undefined): Promise<string> {
    let sites = live.sitesOf(station)
    const knownLive = site === undefined ? sites.length > 0 : sites.includes(site)
    if (!knownLive) sites = [...new Set([...sites, ...(await readStationSites(influx, station))])]
    if (site !== undefined) {
      if (!sites.includes(site)) throw stationNotFound(station, site)
      return site
    }
    if (sites.length > 1) throw ambiguousStation(station, sites.sort())
    const [only] = sites
    if (only === undefined) throw stationNotFound(station)
    return only
  }

  app.get(
    '/stations',
    { schema: { querystring: StationsQuery, response: { 200: StationsResponse, 400: ErrorResponse } } },
    async (request) => ({ stations: live.summaries(request.query).map(toView) }),
  )

  const telemetry = operatorRoute(requireRole, {
    params: StationParams,
    querystring: TelemetryQuery,
    response: { 200: TelemetryResponse, 400: ErrorResponse, 404: ErrorResponse },
  })
  // `/history` is the first name of this route; the dashboard may still use it.
  for (const url of ['/stations/:id/telemetry', '/stations/:id/history']) {
    app.get(url, telemetry, async (request) => {
      const { id } = request.params
      // Parameters first: a bad request never costs an InfluxDB round trip.
      const site0 = request.query.site
      const tz = (site0 !== undefined && catalogue.sites.get(site0)?.timezone) || DEFAULT_TIME_ZONE
      const req = resolveHistoryRequest(request.query, clock(), tz)
      const fields = selectFields(request.query.fields)
      if (req.resolution === 'rollup') fields.station = fields.station.filter((f) => !RAW_ONLY_FIELDS.has(f))
      const site = await resolveSite(id, site0)
      const series = await readStationHistory(influx, { site, station: id, ...req, fields })
      return {
        site,
        station: id,
        from: req.fromMs,
        to: req.toMs,
        every: req.every,
        tz: req.tz,
        resolution: req.resolution,
        series,
      }
    })
  }
}
