import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Body of every error answer, so clients parse one shape. */
export interface ErrorBody {
  statusCode: number
  code: string
  error: string
  message: string
}

const errorBody = (statusCode: number, code: string, message: string): ErrorBody => ({
  statusCode,
  code,
  error: STATUS_CODES[statusCode] ?? 'Error',
  message,
})

/**
 * The one edge handler: 4xx messages pass through, since they tell the client what
 * to fix; 5xx are logged with the request's context and masked, since they may carry internals
 * (query text, host names, stack traces).
 */
export function setupErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500
    if (status < 500) {
      return reply.code(status).send(errorBody(status, error.code ?? 'EVMON_CLIENT_ERROR', error.message))
    }
    request.log.error({ err: error, method: request.method, url: request.url }, 'request failed')
    const code = error.code?.startsWith('EVMON_') ? error.code : 'EVMON_INTERNAL'
    return reply.code(status).send(errorBody(status, code, STATUS_CODES[status] ?? 'Internal Server Error'))
  })
}

/** Answers 404 for a route that does not exist, in the same shape as every other error. */
export function replyNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split('?', 1)[0]
  return reply.code(404).send(errorBody(404, 'EVMON_NOT_FOUND', `route ${request.method} ${path} not found`))
}
