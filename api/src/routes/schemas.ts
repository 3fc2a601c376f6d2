import { FIELDS_PATTERN, ID_PATTERN, Id, TZ_PATTERN } from '@evmon/contracts'
import { Type, type TSchema } from '@fastify/type-provider-typebox'
import type { FastifyServerOptions } from 'fastify'
import { EVERY_PATTERN, TIME_PATTERN } from '../influx/history-window.ts'
import type { RequireRole } from '../plugins/app/authorization.ts'

/** Body of every error answer (see plugins/error-handler.ts). */
export const ErrorResponse = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String(),
})

/**
 * Options of a route for operators (engineers too): the bearer-token guard, the security its OpenAPI
 * entry shows, and the 401 answer the guard gives, beside the route's own schema.
 */
export function operatorRoute<S extends { response: Record<number, TSchema> }>(
  requireRole: RequireRole,
  schema: S,
) {
  return {
    onRequest: requireRole('operator'),
    schema: { ...schema, response: { ...schema.response, 401: ErrorResponse }, security: [{ bearer: [] }] },
  }
}

/** `?site=&station=`: optional filters of the live view, each an id or absent. */
export const LiveFilterQuery = Type.Object({
  site: Type.Optional(Id),
  station: Type.Optional(Id),
})

// Patterns are exact but unreadable in an error message; say what the value must look like instead.
const PATTERN_HINTS: Record<string, string> = {
  [ID_PATTERN]: 'an id: 1-64 lower-case letters, digits, _ or -, starting with a letter or digit',
  [TIME_PATTERN]: 'ISO-8601 (a date, or a date-time with Z or an offset) or epoch milliseconds',
  [EVERY_PATTERN]: 'a bucket width of whole seconds, minutes, hours or days, such as 10s, 1m, 1h or 1d',
  [FIELDS_PATTERN]: 'a comma-separated list of field names',
  [TZ_PATTERN]: 'an IANA time zone such as Asia/Shanghai',
}

/** Fastify `schemaErrorFormatter`: one message naming each bad parameter and what it must look like. */
export const formatValidationErrors: NonNullable<FastifyServerOptions['schemaErrorFormatter']> = (
  errors,
  dataVar,
) => {
  const problems = errors.map((e) => {
    const hint = e.keyword === 'pattern' ? PATTERN_HINTS[String(e.params.pattern)] : undefined
    return `${dataVar}${e.instancePath} ${hint === undefined ? e.message : `must be ${hint}`}`
  })
  return new Error(problems.join(', '))
}
