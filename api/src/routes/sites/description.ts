import { Id } from '@evmon/contracts'
import { SiteListResponse, SiteSchema } from '@evmon/contracts/site'
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../errors.ts'
import type { Services } from '../../services.ts'
import { ErrorResponse } from '../schemas.ts'

/**
 * `GET /sites` and `GET /sites/:id`: the site descriptions of the site files. Public, like
 * /availability: what is built there and what charging costs is what a driver sees on the spot, and a
 * description holds no secret (the scenario sections of a simulator's site file are not part of it).
 */
export const siteDescriptionRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (
  app,
  { services },
) => {
  const { descriptions } = services.catalogue
  const errors = { 400: ErrorResponse, 404: ErrorResponse, 429: ErrorResponse }

  app.get('/sites', { schema: { response: { 200: SiteListResponse, 429: ErrorResponse } } }, () => ({
    sites: [...descriptions.values()].map(({ id, name, timezone }) => ({ id, name, timezone })),
  }))

  app.get(
    '/sites/:id',
    { schema: { params: Type.Object({ id: Id }), response: { 200: SiteSchema, ...errors } } },
    (request) => {
      const site = descriptions.get(request.params.id)
      if (site === undefined) throw notFound(`site ${request.params.id}`)
      return site
    },
  )
}
