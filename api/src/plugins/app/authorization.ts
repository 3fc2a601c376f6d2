import { createHash } from 'node:crypto'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { ApiConfig, Role } from '../../config.ts'
import { forbidden, unauthorized } from '../../errors.ts'

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

export interface Authorization {
  requireRole: RequireRole
  /** The SHA-256 of the request's token if it is a configured one, else `null` (the rate limit's key). */
  validTokenHash(request: FastifyRequest): string | null
}

/**
 * Bearer-token roles. Tokens are compared by their SHA-256, so the configuration never holds a usable
 * token; a request's token is hashed at most once, whichever of the rate limit and the guard asks first.
 */
export function createAuthorization(config: Readonly<Pick<ApiConfig, 'tokens'>>): Authorization {
  const hashOf = tokenHasher(config.tokens).hash
  const roleOf = (request: FastifyRequest): Role | undefined => {
    const hash = presentedTokenHash(request, hashOf)
    return hash === null ? undefined : config.tokens.get(hash)
  }
  return {
    validTokenHash(request) {
      const hash = presentedTokenHash(request, hashOf)
      return hash !== null && config.tokens.has(hash) ? hash : null
    },
    // Callback-style, not async: it runs on every protected request, and a promise per request costs.
    requireRole: (role) => (request, _reply, done) => {
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
    },
  }
}
