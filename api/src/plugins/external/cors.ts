import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

/** The answer to an allowed CORS preflight, as @fastify/cors gave it with our options. */
const preflightHeaders = {
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': 'authorization, content-type',
  'access-control-max-age': '600',
  'content-length': '0',
}

/** CORS as the security-headers hook runs it (see setupHelmet): headers to add to every answer, and the per-request part. */
export interface CorsPolicy {
  /** Every answer varies by Origin, so caches never serve one origin's answer to another. */
  readonly headers: Readonly<Record<string, string>>
  onRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
}

/**
 * CORS for the configured origins only (`undefined`: none, CORS off), answered as @fastify/cors
 * answered it: same headers, same preflight. It runs inside the first onRequest hook rather than a
 * hook of its own, with no per-request option merging (docs/benchmarks/api.md).
 */
export function corsPolicy(origins: readonly string[]): CorsPolicy | undefined {
  const allowed = new Set(origins)
  if (allowed.size === 0) return undefined
  return {
    headers: { vary: 'Origin' },
    onRequest(request, reply, done) {
      const { origin } = request.headers
      if (origin !== undefined && allowed.has(origin)) reply.header('access-control-allow-origin', origin)
      if (request.method !== 'OPTIONS') return done()
      // A preflight is answered here, before any token check (browsers send none with it).
      if (origin === undefined || request.headers['access-control-request-method'] === undefined) {
        void reply.code(400).type('text/plain').send('Invalid Preflight Request')
        return
      }
      void reply.code(204).headers(preflightHeaders).send()
    },
  }
}
