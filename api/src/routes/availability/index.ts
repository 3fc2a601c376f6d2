import { AvailabilityQuery, AvailabilityResponse } from '@evmon/contracts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { availability } from '../../availability/availability.ts'
import { notFound } from '../../errors.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/** Drivers poll this from phones: answers are shared for a second and may be cached for five. */
const CACHE_MS = 1_000

/** `GET /availability?site=`: public. */
export const availabilityRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { live, clock, catalogue } = services
  const cache = new Map<string, { at: number; text: string }>()

  app.get(
    '/availability',
    {
      schema: {
        querystring: AvailabilityQuery,
        response: { 200: AvailabilityResponse, 400: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse },
      },
    },
    async (request, reply) => {
      const { site } = request.query
      const now = clock()
      let hit = cache.get(site)
      if (hit === undefined || now - hit.at >= CACHE_MS || now < hit.at) {
        const stations = live.snapshot(now, { site }).stations
        if (stations.length === 0 && !catalogue.sites.has(site)) throw notFound(`site ${site}`)
        const body = availability({
          site,
          now,
          stations,
          catalogue,
          running: (station, connector) => live.runningSession(site, station, connector),
        })
        hit = { at: now, text: JSON.stringify(body) }
        // Only known sites reach here, so the cache is bounded by the number of sites.
        cache.set(site, hit)
      }
      return (
        reply
          .header('cache-control', 'public, max-age=5')
          .type('application/json; charset=utf-8')
          // Already JSON: the cached text is sent as is, which the response schema cannot type.
          .send(hit.text as never)
      )
    },
  )
}
