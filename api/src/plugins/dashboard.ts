import { existsSync } from 'node:fs'
import { join } from 'node:path'
import fastifyStatic, { type SetHeadersResponse } from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { replyNotFound } from './error-handler.ts'

// Vite puts content-hashed files under assets/: they never change, so browsers may keep them forever;
// everything else (index.html above all) must be revalidated or a new build would not show.
function setCacheHeaders(res: SetHeadersResponse, path: string): void {
  const immutable = /[\\/]assets[\\/]/.test(path)
  res.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
}

/** Paths (or URLs, query included) the dashboard never owns: they answer JSON, never the single-page app. */
export const isApiPath = (url: string): boolean =>
  url.startsWith('/api/') || url === '/api' || url.startsWith('/api?')

/**
 * Serves the built dashboard at `/`, with the single-page app's index.html for any other GET outside
 * `/api`. Without a build the API still runs, and dashboard paths answer 503 saying how to build it.
 */
export async function setupDashboard(app: FastifyInstance, dir: string): Promise<void> {
  const built = existsSync(join(dir, 'index.html'))
  // `cacheControl: false` leaves the header to setCacheHeaders instead of a blanket max-age=0.
  if (built)
    await app.register(fastifyStatic, { root: dir, cacheControl: false, setHeaders: setCacheHeaders })
  else app.log.warn({ dir }, 'dashboard not built: run `npm run build`')

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0] ?? '/'
    const lastSegment = path.slice(path.lastIndexOf('/') + 1)
    // A missing file (a name with an extension) is a 404, not the app: HTML in place of a script only confuses.
    const isFile = lastSegment.includes('.')
    if (isApiPath(path) || isFile || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return replyNotFound(request, reply)
    }
    if (!built) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(
          `The dashboard is not built (${dir} has no index.html): run \`npm run build\`, then restart the API.\n`,
        )
    }
    return reply.sendFile('index.html')
  })
}
