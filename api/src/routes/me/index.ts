import { Type } from '@fastify/type-provider-typebox'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ROLES } from '../../config.ts'
import type { Services } from '../../services.ts'
import { operatorRoute } from '../schemas.ts'

const Me = Type.Object({
  role: Type.Union(
    ROLES.map((role) => Type.Literal(role)),
    { description: 'the role the presented bearer token carries' },
  ),
})

/** `GET /me`: the role of the presented bearer token, so a client can tell which views to offer. */
export const meRoutes: FastifyPluginAsyncTypebox<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/me',
    operatorRoute(services.requireRole, { response: { 200: Me } }),
    // requireRole sets the role of every request it lets through.
    async (request) => ({ role: request.role! }),
  )
}
