import { AvailabilityQuery, AvailabilityResponse } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { availability } from '../../availability/availability.ts'
import { notFound } from '../../errors.ts'
import { PeriodCache } from '../../live/live-view.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/** `GET /availability?site=`: public. */
export const availabilityRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { live, clock, catalogue, views } = services
  // Drivers poll this from phones: one answer per site and live-view period, shared by every request in
  // it (so at most one period behind the state and the price), and clients may cache it for five seconds.
  const cache = new PeriodCache<Buffer>(views.periodMs)

  app.get(
    '/availability',
    {
      schema: {
        querystring: AvailabilityQuery,
        response: { 200: AvailabilityResponse, 400: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse },
      },
    },
    // Synchronous (no promise per request); an unknown site throws, which Fastify answers as the error.
    (request, reply) => {
      const { site } = request.query
      const now = clock()
      // Unknown sites throw before caching, so the cache is bounded by the number of sites.
      const cached = cache.get(site, now, () => {
        const stations = live.snapshot(now, { site }).stations
        if (stations.length === 0 && !catalogue.sites.has(site)) throw notFound(`site ${site}`)
        const answer = availability({
          site,
          now,
          stations,
          catalogue,
          running: (station, connector) => live.runningSession(site, station, connector),
        })
        return Buffer.from(JSON.stringify(answer))
      })
      void reply
        .header('cache-control', 'public, max-age=5')
        .type('application/json; charset=utf-8')
        // Already JSON: the cached bytes are sent as they are, which the response schema cannot type.
        .send(cached as never)
    },
  )
}
