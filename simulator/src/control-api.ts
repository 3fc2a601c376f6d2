import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { ERROR_CODES, type ErrorCode } from '@evmon/contracts'
import { listen } from '@evmon/runtime'
import type { Site } from './site.ts'

/** What the control API steers besides the model: the pacing of the run. */
export interface ControlTarget {
  site: Site
  readonly paused: boolean
  pause(): void
  resume(): void
  /** Prometheus text exposition of the run's metrics. */
  metrics(): Promise<string>
}

export interface ControlApi {
  readonly port: number
  close(): Promise<void>
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message)
  }
}

const MAX_BODY_BYTES = 16_384 // a control request is a handful of fields

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let body = ''
  for await (const chunk of req) {
    body += String(chunk)
    if (body.length > MAX_BODY_BYTES) throw new HttpError(413, 'body too large')
  }
  if (body.trim() === '') return {}
  try {
    const value: unknown = JSON.parse(body)
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>
  } catch {
    // answered below
  }
  throw new HttpError(400, 'body must be a JSON object')
}

const numberField = (body: Record<string, unknown>, name: string, required: boolean): number | undefined => {
  const value = body[name]
  if (value === undefined && !required) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new HttpError(400, `${name} must be a number`)
  return value
}

// Model methods throw plain errors for a request that cannot be done (busy connector, unknown id).
function attempt<T>(action: () => T): T {
  try {
    return action()
  } catch (err) {
    if (err instanceof HttpError) throw err
    const message = (err as Error).message
    throw new HttpError(/^no (station|connector)/.test(message) ? 404 : 409, message)
  }
}

/**
 * The simulator's HTTP control API, `/healthz` and `/metrics` on one port: list stations and
 * sessions, plug in a car, inject or clear a fault, drop a station's connection, change the grid
 * limit, pause and resume. Actions take effect at the next simulated sample.
 */
export async function startControlApi(
  target: ControlTarget,
  host: string,
  port: number,
): Promise<ControlApi> {
  const { site } = target

  const route = async (req: IncomingMessage): Promise<{ status: number; body: unknown } | string> => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const parts = url.pathname.split('/').filter(Boolean)
    const method = req.method ?? 'GET'
    const path = parts.join('/')
    if (method === 'GET' && path === 'healthz') return { status: 200, body: { status: 'ok' } }
    if (method === 'GET' && path === 'metrics') return target.metrics()
    if (method === 'GET' && path === 'stations') return { status: 200, body: site.describe() }
    if (method === 'GET' && path === 'sessions') return { status: 200, body: site.recentSessions }
    if (path === 'grid' && (method === 'GET' || method === 'PUT')) {
      if (method === 'PUT') {
        const limitKw = numberField(await readJson(req), 'limitKw', true) as number
        if (limitKw < 0) throw new HttpError(400, 'limitKw must be ≥ 0')
        site.gridLimitW = limitKw * 1000
      }
      return { status: 200, body: { limitKw: site.gridLimitW / 1000 } }
    }
    // The heat-wave scenario: force the ambient temperature (e.g. a 40 °C Chongqing afternoon) until
    // DELETE hands it back to the climate model.
    if (path === 'ambient' && (method === 'GET' || method === 'PUT' || method === 'DELETE')) {
      if (method === 'PUT') {
        const celsius = numberField(await readJson(req), 'ambientC', true) as number
        if (celsius < -50 || celsius > 60) throw new HttpError(400, 'ambientC must be from -50 to 60')
        site.ambientOverrideC = celsius
      }
      if (method === 'DELETE') site.ambientOverrideC = undefined
      return { status: 200, body: { ambientC: site.ambientC, forced: site.ambientOverrideC !== undefined } }
    }
    if (method === 'POST' && (path === 'pause' || path === 'resume')) {
      if (path === 'pause') target.pause()
      else target.resume()
      return { status: 200, body: { paused: target.paused, nowMs: site.nowMs } }
    }
    const [stations, station, sub, connectorText, action] = parts
    if (stations === 'stations' && station && sub === 'offline' && parts.length === 3 && method === 'POST') {
      const durationS = numberField(await readJson(req), 'durationS', true) as number
      if (durationS <= 0) throw new HttpError(400, 'durationS must be above 0')
      attempt(() => site.disconnect(station, durationS))
      return { status: 202, body: { station, durationS } }
    }
    if (stations === 'stations' && station && sub === 'module-failure' && parts.length === 3) {
      if (method !== 'POST') throw new HttpError(404, `no route ${method} ${url.pathname}`)
      const repairS = numberField(await readJson(req), 'repairS', true) as number
      if (repairS <= 0) throw new HttpError(400, 'repairS must be above 0')
      attempt(() => site.failModule(station, repairS))
      return { status: 202, body: { station, repairS } }
    }
    if (stations === 'stations' && station && sub === 'connectors' && connectorText && parts.length === 5) {
      const connector = Number(connectorText)
      if (!Number.isInteger(connector)) throw new HttpError(404, `no connector ${station}/${connectorText}`)
      if (action === 'plug-in' && method === 'POST') {
        const body = await readJson(req)
        if (typeof body.vehicle !== 'string') throw new HttpError(400, 'vehicle must be a vehicle model id')
        const socPct = numberField(body, 'socPct', false)
        const targetSocPct = numberField(body, 'targetSocPct', false)
        const spec = {
          vehicle: body.vehicle,
          ...(socPct === undefined ? {} : { socPct }),
          ...(targetSocPct === undefined ? {} : { targetSocPct }),
        }
        attempt(() => site.plugIn(station, connector, spec))
        return { status: 202, body: { station, connector, ...spec } }
      }
      if (action === 'fault' && method === 'POST') {
        const body = await readJson(req)
        const errorCode = body.errorCode
        if (typeof errorCode !== 'string' || !(ERROR_CODES as readonly string[]).includes(errorCode)) {
          throw new HttpError(400, `errorCode must be one of ${ERROR_CODES.join(', ')}`)
        }
        const vendorError = typeof body.vendorError === 'string' ? body.vendorError : undefined
        attempt(() => site.injectFault(station, connector, errorCode as ErrorCode, vendorError))
        return { status: 202, body: { station, connector, errorCode } }
      }
      if (action === 'cooling-failure' && method === 'POST') {
        const body = await readJson(req)
        if (body.kind !== 'pump' && body.kind !== 'fan') throw new HttpError(400, 'kind must be pump or fan')
        const repairS = numberField(body, 'repairS', true) as number
        if (repairS <= 0) throw new HttpError(400, 'repairS must be above 0')
        const kind = body.kind
        attempt(() => site.failCooling(station, connector, kind, repairS))
        return { status: 202, body: { station, connector, kind, repairS } }
      }
      if (action === 'fault' && method === 'DELETE') {
        const cleared = attempt(() => site.clearFault(station, connector))
        if (!cleared) throw new HttpError(409, `${station}/${connector} has no fault`)
        return { status: 202, body: { station, connector, cleared } }
      }
    }
    throw new HttpError(404, `no route ${method} ${url.pathname}`)
  }

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    route(req).then(
      (result) => {
        if (typeof result === 'string') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(result)
        } else {
          res
            .writeHead(result.status, { 'content-type': 'application/json' })
            .end(JSON.stringify(result.body))
        }
      },
      (err: unknown) => {
        const status = err instanceof HttpError ? err.statusCode : 500
        const message = err instanceof HttpError ? err.message : 'internal error'
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }))
      },
    )
  }

  const server = createServer(handle)
  return {
    port: await listen(server, port, host),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
