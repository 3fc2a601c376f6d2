import { createHash } from 'node:crypto'
import fastifyHelmet from '@fastify/helmet'
import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyInstance, type FastifyRequest, type onRequestHookHandler } from 'fastify'
import type { ApiConfig, Role } from '../config.ts'
import { forbidden, rateLimited, unauthorized } from '../errors.ts'
import { isApiPath } from './dashboard.ts'
import { RateLimiter } from './rate-limit.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** Role of the request's valid bearer token, if it has one. */
    role?: Role
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** SHA-256 of each request's presented token (`null`: none), computed once for the rate limit and the role check. */
const tokenHashes = new WeakMap<FastifyRequest, string | null>()

/**
 * The hash of `token`, remembered for configured tokens only: an operator's dashboard presents the
 * same token on every request, and hashing it each time cost a tenth of answering `/live`. Tokens
 * that match nothing are hashed anew each time, so inventing tokens cannot grow this map: it holds
 * at most one entry per configured token.
 */
export function tokenHasher(configured: ReadonlyMap<string, unknown>): {
  hash(token: string): string
  /** Tokens remembered. */
  readonly size: number
} {
  const known = new Map<string, string>()
  return {
    hash(token) {
      let hash = known.get(token)
      if (hash === undefined) {
        hash = sha256(token)
        if (configured.has(hash)) known.set(token, hash)
      }
      return hash
    },
    get size() {
      return known.size
    },
  }
}

function presentedTokenHash(request: FastifyRequest, hashOf: (token: string) => string): string | null {
  let hash = tokenHashes.get(request)
  if (hash === undefined) {
    const token = presentedToken(request)
    hash = token === undefined || token === '' ? null : hashOf(token)
    tokenHashes.set(request, hash)
  }
  return hash
}

/** The answer to an allowed CORS preflight, as @fastify/cors gave it with our options. */
const preflightHeaders = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '600',
  'content-length': '0',
}

type HelmetOptions = Parameters<typeof fastifyHelmet>[1]

/**
 * The headers @fastify/helmet sets with `options`, read once from a throwaway instance. The plugin
 * rebuilds helmet's middleware (and re-parses the CSP) on every request, which cost about a third of a
 * small answer; without nonces the headers are the same every time, so they are set as they are.
 */
export async function helmetHeaders(options: HelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false })
  try {
    await probe.register(fastifyHelmet, options)
    // Helmet writes on the raw response in onRequest; Fastify's own headers are added later.
    probe.get('/', async (_request, reply) => reply.raw.getHeaders())
    const headers = (await probe.inject({ method: 'GET', url: '/' })).json<Record<string, unknown>>()
    return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]))
  } finally {
    await probe.close()
  }
}

/** The presented token: the Authorization header, or `access_token` (browsers cannot set headers on a WebSocket). */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header !== undefined) return /^Bearer ([\x21-\x7e]{1,512})$/.exec(header)?.[1] ?? ''
  const query = request.query as Record<string, unknown> | undefined
  const fromQuery = query?.access_token
  return typeof fromQuery === 'string' ? fromQuery : undefined
}

/** Route guard: `onRequest: app.requireRole('operator')`. An engineer may do what an operator may. */
export type RequireRole = (role: Role) => onRequestHookHandler

/**
 * Security headers, CORS for configured origins only, rate limits (per token on protected routes, per
 * address elsewhere), the OpenAPI document at `/docs`, and bearer-token roles. Tokens are compared by
 * their SHA-256, so the configuration never holds a usable token.
 */
export async function setupSecurity(app: FastifyInstance, config: Readonly<ApiConfig>): Promise<RequireRole> {
  const hashOf = tokenHasher(config.tokens).hash
  const roleOf = (request: FastifyRequest): Role | undefined => {
    const hash = presentedTokenHash(request, hashOf)
    return hash === null ? undefined : config.tokens.get(hash)
  }

  // Helmet's headers everywhere; the CSP differs: the dashboard's HTML needs its sources, while JSON
  // answers load nothing, so /api gets the policy OWASP's REST Security Cheat Sheet gives for APIs
  // (`default-src 'none'; frame-ancestors 'none'`), which is also 300 bytes shorter on every answer.
  const htmlHeaders = await helmetHeaders({
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
  // JSON answers carry OWASP's REST Security Cheat Sheet list: CSP, HSTS, nosniff, framing denied
  // outright, and `Cache-Control: no-store` (operator data must not sit in shared or browser caches;
  // a public route that may be cached says so itself). They leave out helmet's headers that only mean
  // something for documents (DNS prefetching of links, IE8 downloads, Flash/PDF cross-domain policies,
  // origin-keyed agent clusters, the retired XSS auditor, the opener's browsing context group, the
  // Referer of requests a page makes). Cross-Origin-Resource-Policy stays: it keeps other sites from
  // loading the JSON as a no-cors resource.
  const apiHelmet = await helmetHeaders({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: 'deny' },
    dnsPrefetchControl: false,
    ieNoOpen: false,
    permittedCrossDomainPolicies: false,
    originAgentCluster: false,
    xssFilter: false,
    crossOriginOpenerPolicy: false,
    referrerPolicy: false,
  })
  const apiHeaders = { ...apiHelmet, 'cache-control': 'no-store' }
  // CORS for the configured origins only, as @fastify/cors answered it (same headers, same preflight),
  // in the same hook as the security headers: one hook instead of two, and no per-request option merging.
  const corsOrigins = new Set(config.corsOrigins)
  const cors = corsOrigins.size > 0
  // Every answer varies by Origin when CORS is on, so caches never serve one origin's answer to another.
  const withVary = (headers: Record<string, string>) => (cors ? { ...headers, vary: 'Origin' } : headers)
  const apiAnswer = withVary(apiHeaders)
  const htmlAnswer = withVary(htmlHeaders)
  // First of all hooks, as helmet's were, so that every answer (401, 404, 429 included) carries them.
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(isApiPath(request.url) ? apiAnswer : htmlAnswer)
    if (!cors) return done()
    const { origin } = request.headers
    if (origin !== undefined && corsOrigins.has(origin)) reply.header('access-control-allow-origin', origin)
    if (request.method !== 'OPTIONS') return done()
    // A preflight is answered here, before any token check (browsers send none with it).
    if (origin === undefined || request.headers['access-control-request-method'] === undefined) {
      void reply.code(400).type('text/plain').send('Invalid Preflight Request')
      return
    }
    void reply.code(204).headers(preflightHeaders).send()
  })
  // Per token on protected routes, per address elsewhere; one synchronous map lookup per request (see
  // RateLimiter). Added to every route as @fastify/rate-limit did, after the route's own onRequest hooks.
  const limiter = new RateLimiter(60_000)
  const rateLimit: onRequestHookHandler = (request, reply, done) => {
    // A valid token gets its own, larger budget; anything else is limited by address, so inventing
    // tokens does not buy more requests.
    const hash = presentedTokenHash(request, hashOf)
    const byToken = hash !== null && config.tokens.has(hash)
    const { allowed, limit, remaining, resetS } = limiter.take(
      byToken ? `t:${hash}` : `a:${request.ip}`,
      byToken ? config.tokenRateLimitPerMin : config.publicRateLimitPerMin,
      Date.now(),
    )
    reply.header('x-ratelimit-limit', limit).header('x-ratelimit-remaining', remaining)
    reply.header('x-ratelimit-reset', resetS)
    if (allowed) return done()
    reply.header('retry-after', resetS)
    done(rateLimited(`rate limit of ${limit} requests per minute exceeded, retry in ${resetS} s`))
  }
  app.addHook('onRoute', (route) => {
    route.onRequest = [...(route.onRequest === undefined ? [] : [route.onRequest].flat()), rateLimit]
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

  // Callback-style, not async: it runs on every protected request, and a promise per request costs.
  return (role) => (request, _reply, done) => {
    const held = roleOf(request)
    if (held === undefined) {
      done(
        presentedToken(request) === undefined
          ? unauthorized('a bearer token is required')
          : unauthorized('the bearer token is not valid'),
      )
    } else if (role === 'engineer' && held !== 'engineer') {
      done(forbidden(`this route needs an engineer token, yours is ${held}`))
    } else {
      request.role = held
      done()
    }
  }
}
