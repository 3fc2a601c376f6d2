import fastifyHelmet from '@fastify/helmet'
import Fastify, { type FastifyInstance, type onRequestHookHandler } from 'fastify'
import { isApiPath } from '../dashboard.ts'
import type { CorsPolicy } from './cors.ts'

type HelmetOptions = Parameters<typeof fastifyHelmet>[1]

/**
 * The headers @fastify/helmet sets with `options`, read once from a throwaway instance. The plugin
 * rebuilds helmet's middleware (and re-parses the CSP) on every request, which cost about a third of a
 * small answer; without nonces the headers are the same every time, so they are set as they are.
 */
async function helmetHeaders(options: HelmetOptions): Promise<Record<string, string>> {
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

/**
 * Helmet's security headers on every answer, set by the app's first onRequest hook so that every answer
 * (401, 404, 429 included) carries them. With `cors`, that same hook also runs CORS: one hook instead of
 * two on every request.
 */
export async function setupHelmet(app: FastifyInstance, cors?: CorsPolicy): Promise<void> {
  // The CSP differs: the dashboard's HTML needs its sources, while JSON answers load nothing, so /api
  // gets the policy OWASP's REST Security Cheat Sheet gives for APIs (`default-src 'none';
  // frame-ancestors 'none'`), which is also 300 bytes shorter on every answer.
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
  const apiAnswer = { ...apiHelmet, 'cache-control': 'no-store', ...cors?.headers }
  const htmlAnswer = { ...htmlHeaders, ...cors?.headers }
  const hook: onRequestHookHandler =
    cors === undefined
      ? (request, reply, done) => {
          reply.headers(isApiPath(request.url) ? apiAnswer : htmlAnswer)
          done()
        }
      : (request, reply, done) => {
          reply.headers(isApiPath(request.url) ? apiAnswer : htmlAnswer)
          cors.onRequest(request, reply, done)
        }
  app.addHook('onRequest', hook)
}
