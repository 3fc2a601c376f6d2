import { createHash } from 'node:crypto'
import fastifyCors from '@fastify/cors'
import fastifyHelmet from '@fastify/helmet'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { ApiConfig, Role } from '../config.ts'
import { forbidden, unauthorized } from '../errors.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Role of the request's valid bearer token, if it has one. */
    role?: Role
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The presented token: the Authorization header, or `access_token` (browsers cannot set headers on a WebSocket). */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)?.[1] ?? ''
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.access_token
  return typeof fromQuery === 'string' ? fromQuery : undefined
}

/** Route guard: `onRequest: app.requireRole('operator')`. An engineer may do what an operator may. */
export type RequireRole = (role: Role) => onRequestAsyncHookHandler

/**
 * Security headers, CORS for configured origins only, rate limits (per token on protected routes, per
 * address elsewhere), the OpenAPI document at `/docs`, and bearer-token roles. Tokens are compared by
 * their SHA-256, so the configuration never holds a usable token.
 */
export async function setupSecurity(app: FastifyInstance, config: Readonly<ApiConfig>): Promise<RequireRole> {
  const roleOf = (request: FastifyRequest): Role | undefined => {
    const token = presentedToken(request)
    return token === undefined || token === '' ? undefined : config.tokens.get(sha256(token))
  }

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
      },
    },
  })
  await app.register(fastifyCors, {
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type'],
    maxAge: 600,
  })
  await app.register(fastifyRateLimit, {
    global: true,
    timeWindow: 60_000,
    // A valid token gets its own, larger budget; anything else is limited by address, so inventing
    // tokens does not buy more requests.
    keyGenerator: (request) => {
      const token = presentedToken(request)
      const hash = token === undefined || token === '' ? undefined : sha256(token)
      return hash !== undefined && config.tokens.has(hash) ? `t:${hash}` : `a:${request.ip}`
    },
    max: (_request, key) =>
      key.startsWith('t:') ? config.tokenRateLimitPerMin : config.publicRateLimitPerMin,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      code: 'EVMON_RATE_LIMITED',
      error: 'Too Many Requests',
      message: `rate limit of ${context.max} requests per minute exceeded, retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  })
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'evmon API',
        version: '1',
        description: 'EV charging station monitoring: live state, availability, history, analytics.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true })

  return (role) => async (request) => {
    const held = roleOf(request)
    if (held === undefined) {
      throw presentedToken(request) === undefined
        ? unauthorized('a bearer token is required')
        : unauthorized('the bearer token is not valid')
    }
    if (role === 'engineer' && held !== 'engineer')
      throw forbidden(`this route needs an engineer token, yours is ${held}`)
    request.role = held
  }
}
