import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import type { Handlers } from './link.ts'
import type { Metrics } from './metrics.ts'

interface Validator {
  subprotocol: string
  validate(schemaId: string, params: unknown): void
}
// ocpp-rpc's own validators for the official schemas (strict mode uses the same), to read a proxied
// conversation only when both the call and its answer are valid OCPP.
const validators = new Map(
  (createRequire(import.meta.url)('ocpp-rpc/lib/standard-validators.js') as Validator[]).map((v) => [
    v.subprotocol,
    v,
  ]),
)

/** One proxied charger connection, for the gateway's bookkeeping. */
export interface ProxiedConnection {
  protocol: string
  /** Feeds a call the upstream answered (both valid OCPP) to the monitor. */
  handlers?: Handlers
  close(code: number, reason: string): void
  open(): boolean
}

export interface ProxyOptions {
  maxFrameBytes: number
  metrics: Metrics
  log: (line: string) => void
}

/** Answers an upgrade request with an HTTP status and closes the socket, as a refused upgrade. */
function refuseUpgrade(socket: Socket, code: number, message: string): void {
  if (socket.writable) {
    const body = `${message}\n`
    socket.write(
      `HTTP/1.1 ${code} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

// WebSocket close codes that may be sent in a close frame (1005, 1006 and 1015 only describe one).
const sendable = (code: number) =>
  (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999)

/**
 * Monitoring-proxy mode: the charger's WebSocket is opened to the upstream central system first, with the
 * charger's identity, subprotocols and Authorization header; only if the upstream accepts is the
 * charger's upgrade completed, with the subprotocol the upstream chose — otherwise the charger gets the
 * upstream's refusal status, or 502 when the upstream cannot be reached. Frames are then passed on
 * unchanged (text stays text, binary stays binary) and in order, both ways; the gateway answers
 * nothing. A copy of each call the charger made and the upstream answered goes to the monitor. Either
 * side closing closes the other.
 */
export function createProxy(options: ProxyOptions) {
  const { metrics, log } = options
  const protocolOf = new WeakMap<IncomingMessage, string | false>()
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxFrameBytes,
    handleProtocols: (_offered, request) => protocolOf.get(request) ?? false,
  })

  return {
    /**
     * Proxies one upgrade to `upstreamUrl` (the site's upstream plus `/{identity}`). `connected` is
     * called once both sides are open and returns what to do with the conversation.
     */
    handleUpgrade(
      request: IncomingMessage,
      socket: Socket,
      head: Buffer,
      who: string,
      upstreamUrl: string,
      connected: (connection: ProxiedConnection) => { closed(): void },
    ): void {
      const offered = (request.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
      const headers: Record<string, string> = {}
      if (request.headers.authorization) headers.authorization = request.headers.authorization
      const upstream = new WebSocket(upstreamUrl, offered, { headers, maxPayload: options.maxFrameBytes })
      let charger: WebSocket | undefined
      const early: [RawData, boolean][] = []
      const abandon = () => upstream.terminate()
      socket.once('close', abandon)

      // Refused once: terminating the upstream attempt makes ws report an error that is not a second refusal.
      let refused = false
      upstream.once('unexpected-response', (_req, res) => {
        refused = true
        metrics.inc('evmon_gateway_upgrades_refused_total', { reason: `upstream_${res.statusCode}` })
        log(`refused: ${who}: the upstream answered ${res.statusCode}`)
        socket.off('close', abandon)
        refuseUpgrade(socket, res.statusCode ?? 502, res.statusMessage ?? 'Bad Gateway')
        upstream.terminate()
      })
      upstream.once('error', (err) => {
        if (charger || refused) return // closing is handled below
        metrics.inc('evmon_gateway_upgrades_refused_total', { reason: 'upstream_unreachable' })
        log(`refused: ${who}: upstream ${upstreamUrl}: ${err.message}`)
        socket.off('close', abandon)
        refuseUpgrade(socket, 502, 'Bad Gateway')
      })
      // Upstream frames that come before the charger's side is open wait, in order.
      upstream.on('message', (data, isBinary) => {
        if (charger) forward(charger, data, isBinary, false)
        else early.push([data, isBinary])
      })

      let connection: { closed(): void } | undefined
      let proxied: ProxiedConnection | undefined
      const pending = new Map<string, { action: string; params: unknown }>()
      /** Reads a frame for the monitor; never affects what is forwarded. */
      const observe = (data: RawData, isBinary: boolean, fromCharger: boolean) => {
        if (isBinary || !proxied?.handlers) return
        let frame: unknown
        try {
          frame = JSON.parse(data.toString())
        } catch {
          return
        }
        if (!Array.isArray(frame) || typeof frame[1] !== 'string') return
        const [type, id] = frame as [unknown, string]
        if (fromCharger) {
          if (type === 2 && typeof frame[2] === 'string')
            pending.set(id, { action: frame[2], params: frame[3] })
          return
        }
        const call = pending.get(id)
        if (!call) return
        pending.delete(id)
        const handler = proxied.handlers[call.action]
        if (type !== 3 || !handler) return
        const validator = validators.get(proxied.protocol)
        try {
          validator?.validate(`urn:${call.action}.req`, call.params)
          validator?.validate(`urn:${call.action}.conf`, frame[2])
        } catch {
          metrics.inc('evmon_gateway_values_rejected_total', { reason: 'proxied_invalid' })
          log(`${who}: ${call.action} (proxied) is not valid OCPP; not monitored`)
          return
        }
        try {
          handler(call.params as never, frame[2] as never)
        } catch (err) {
          log(`${who}: monitoring ${call.action} failed: ${(err as Error).message}`)
        }
      }
      const forward = (to: WebSocket, data: RawData, isBinary: boolean, fromCharger: boolean) => {
        if (to.readyState === WebSocket.OPEN) to.send(data, { binary: isBinary })
        observe(data, isBinary, fromCharger)
      }

      upstream.once('open', () => {
        protocolOf.set(request, upstream.protocol || false)
        socket.off('close', abandon)
        wss.handleUpgrade(request, socket, head, (ws) => {
          charger = ws
          proxied = {
            protocol: upstream.protocol,
            close(code, reason) {
              ws.close(code, reason)
              upstream.close(code, reason)
            },
            open: () => ws.readyState === WebSocket.OPEN,
          }
          connection = connected(proxied)
          for (const [data, isBinary] of early.splice(0)) forward(ws, data, isBinary, false)
          ws.on('message', (data, isBinary) => forward(upstream, data, isBinary, true))
          ws.on('error', (err) => {
            if ((err as Error & { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
              metrics.inc('evmon_gateway_oversized_frames_total')
            }
            log(`${who}: socket error: ${err.message}`)
          })
          let ended = false
          const end = (other: WebSocket, code: number, reason: Buffer) => {
            if (ended) return
            ended = true
            if (other.readyState === WebSocket.OPEN || other.readyState === WebSocket.CONNECTING) {
              if (sendable(code)) other.close(code, reason)
              else other.terminate()
            }
            connection?.closed()
          }
          ws.once('close', (code, reason) => end(upstream, code, reason))
          upstream.once('close', (code, reason) => end(ws, code, reason))
          upstream.on('error', (err) => log(`${who}: upstream error: ${err.message}`))
        })
      })
    },
    close(): void {
      wss.close()
    },
  }
}
