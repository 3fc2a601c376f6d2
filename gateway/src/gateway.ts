import { watch, mkdirSync, readFileSync, type FSWatcher } from 'node:fs'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import { basename, dirname } from 'node:path'
import { isValidId, OCPP_PROTOCOLS, type OcppProtocol } from '@evmon/contracts'
import {
  ACCEPT_BACKLOG,
  FailureLimiter,
  listen as listenOn,
  SecretChecker,
  sendMetrics,
} from '@evmon/runtime'
import mqtt from 'mqtt'
import { RPCServer, type RPCClient } from 'ocpp-rpc'
import { chargerKey, Chargers, isOcppIdentity, stationIdFor, type Charger } from './chargers.ts'
import { DEFAULT_MAX_AUTH_FAILURES, DEFAULT_MAX_QUEUED, type GatewayConfig } from './config.ts'
import { ContractOut } from './contract-out.ts'
import { register, type Link } from './link.ts'
import { Metrics } from './metrics.ts'
import { ocpp16Handlers } from './ocpp16.ts'
import { ocpp201Handlers } from './ocpp201.ts'
import { createProxy } from './proxy.ts'
import { SampleWheel } from './sampling.ts'
import { loadSites } from './sites.ts'
import { GatewayState } from './state.ts'
import { Station } from './station.ts'

export interface GatewayHandle {
  /** Bound port of the plain listener (useful when the config asked for port 0). */
  port: number
  tlsPort: number | null
  /** `ws://host:port/ocpp`: a charger connects to `${ocppUrl}/{site}/{identity}`. */
  ocppUrl: string
  metrics: Metrics
  /** Resolves once the chargers file has been read again after a change (tests wait for it). */
  reloaded(): Promise<void>
  close(): Promise<void>
}

interface Session {
  key: string
  charger: Charger
}

const PROTOCOLS: readonly string[] = OCPP_PROTOCOLS

// Path of the OCPP endpoint: /ocpp/{site}/{identity}; ocpp-rpc splits off the identity (the last segment).
const ENDPOINT = /^\/ocpp\/([^/]+)$/

/** Starts the gateway: the OCPP endpoint(s), /healthz and /metrics, and the broker connection. */
export async function start(config: Readonly<GatewayConfig>): Promise<GatewayHandle> {
  const log = config.log ?? ((line: string) => console.log(line))
  let chargers = Chargers.load(config.chargersFile)
  const sites = loadSites(config.sitesFile)
  const state = GatewayState.load(config.stateFile, (err) =>
    log(`state file ${config.stateFile}: ${err.message}`),
  )
  const checker = new SecretChecker(chargers.scrypt)

  const stations = new Map<string, Station>()
  const metrics = new Metrics({
    evmon_gateway_chargers_connected: { help: 'Chargers connected now.', read: () => live.size },
    evmon_gateway_mqtt_connected: {
      help: '1 while the broker connection is up.',
      read: () => (mqttClient.connected ? 1 : 0),
    },
    evmon_gateway_mqtt_queued: {
      help: 'Publishes waiting for the broker to acknowledge them.',
      read: (): number => out.queued,
    },
  })

  const mqttClient = mqtt.connect(config.mqttUrl, {
    clientId: `evmon-gateway-${process.pid}-${Date.now().toString(36)}`,
    ...(config.mqttUsername && { username: config.mqttUsername }),
    ...(config.mqttPassword && { password: config.mqttPassword }),
    reconnectPeriod: 1000,
  })
  // A broker outage is logged once, not at every retry, and its end too; publishes wait in mqtt.js's queue.
  let brokerError = ''
  mqttClient.on('error', (err) => {
    if (err.message !== brokerError) log(`broker: ${err.message}; retrying every second`)
    brokerError = err.message
  })
  mqttClient.on('connect', () => {
    if (brokerError) log('broker: connected again')
    brokerError = ''
  })
  const out = new ContractOut(mqttClient, metrics, log, config.maxQueued ?? DEFAULT_MAX_QUEUED)
  // No charger is connected yet. One the gateway served before it stopped without saying goodbye (a
  // crash, a power cut) would otherwise stay retained `online: true`; the gateway's one broker
  // connection cannot carry a will per station, so it says it here.
  const startedAt = Date.now()
  for (const c of chargers.list()) {
    if (state.boot(chargerKey(c.site, c.identity)))
      out.publish(c.site, c.station, 'online', { online: false, ts: startedAt })
  }

  const rpc = new RPCServer({
    protocols: [...PROTOCOLS],
    strictMode: true,
    wssOptions: { maxPayload: config.maxFrameBytes },
    // A charger that sends nothing but garbage is closed after this many frames in a row.
    maxBadMessages: 10,
  })

  const refuse = (
    reject: (code: number, message: string) => void,
    code: number,
    reason: string,
    detail: string,
  ) => {
    metrics.inc('evmon_gateway_upgrades_refused_total', { reason })
    log(`refused: ${detail}`)
    reject(code, reason)
  }

  // Password guessing gets a few tries a minute per address and per charger, refused before scrypt runs;
  // a reconnect storm of chargers that know their passwords is never slowed.
  const failures = new FailureLimiter(config.maxAuthFailures ?? DEFAULT_MAX_AUTH_FAILURES, 60_000)

  rpc.auth(async (accept, reject, handshake) => {
    const from = handshake.remoteAddress ?? 'unknown'
    const site = ENDPOINT.exec(handshake.endpoint)?.[1]
    const { identity } = handshake
    const who = `${JSON.stringify(`${site ?? handshake.endpoint}/${identity}`)} from ${from}`
    if (!site || !isValidId(site) || !isOcppIdentity(identity)) {
      return refuse(reject, 400, 'path', `${who}: not /ocpp/{site}/{identity}`)
    }
    if (![...handshake.protocols].some((p) => PROTOCOLS.includes(p))) {
      return refuse(
        reject,
        400,
        'subprotocol',
        `${who}: offers ${[...handshake.protocols].join(', ') || 'no subprotocol'}`,
      )
    }
    const key = chargerKey(site, identity)
    // Held back while the broker backlog is full; the charger keeps its messages and tries again.
    if (out.full) return refuse(reject, 503, 'broker_backlog', `${who}: broker backlog full, try later`)
    const now = Date.now()
    if (failures.blocked(`addr:${from}`, now) || failures.blocked(`charger:${key}`, now)) {
      return refuse(reject, 429, 'throttled', `${who}: too many failed logins, try later`)
    }
    const fail = (code: number, reason: string, detail: string) => {
      failures.fail(`addr:${from}`, now)
      failures.fail(`charger:${key}`, now)
      refuse(reject, code, reason, detail)
    }
    if (!handshake.password) return fail(401, 'no_password', `${who}: no Basic auth for the identity`)
    const charger = chargers.get(site, identity)
    if (!charger) {
      // As slow as a wrong password, so refusals do not tell which identities exist.
      await checker.matchesNothing(handshake.password)
      return fail(401, 'unknown_charger', `${who}: unknown charger`)
    }
    if (!(await checker.matches(key, charger, handshake.password))) {
      return fail(401, 'bad_password', `${who}: wrong password`)
    }
    // Removed or rotated while the password was checked.
    if (chargers.get(site, identity) !== charger)
      return refuse(reject, 401, 'unknown_charger', `${who}: removed`)
    const session: Session = { key, charger }
    // The charger's offer is in its order of preference (RFC 6455): `ocpp2.0.1, ocpp1.6` gets 2.0.1.
    accept(
      session,
      [...handshake.protocols].find((p) => PROTOCOLS.includes(p)),
    )
  })

  /** A charger's connection, answered by the gateway (central) or passed on (proxy). */
  interface Connection {
    charger: Charger
    proxied: boolean
    close(code: number, reason: string): void
    open(): boolean
  }
  const live = new Map<string, Connection>()
  const replaced = new WeakSet<Connection>()
  const removed = new WeakSet<Connection>()

  // One telemetry sample per charger per period, spread over the period (each charger's counted from
  // its connection) instead of leaving in one burst; a fresh reading restarts its charger's period
  // (sampleNow) so it is published at once, still one sample a period.
  let closing = false
  // mqtt.js writes every publish to the socket on its own (a syscall each, and on loopback the broker's
  // receive work too): at 10,000 chargers, 10,000 a second. The samples due in one turn of the event
  // loop leave in one write instead: the broker socket stays corked until the turn ends.
  let corked = false
  const batchPublishes = () => {
    if (corked || !mqttClient.connected) return
    const { stream } = mqttClient
    corked = true
    stream.cork()
    setImmediate(() => {
      corked = false
      stream.uncork()
    })
  }
  const sample = (key: string) => {
    const conn = live.get(key)
    if (closing || !conn?.open()) {
      sampling.cancel(key)
      return
    }
    batchPublishes()
    // A charger put behind the proxy has booted long before: its telemetry need not wait for a boot.
    if (state.boot(key) || conn.proxied) {
      stations.get(key)?.publishTelemetry(Date.now(), config.staleAfterMs, config.sampleIntervalMs)
    }
    sampling.schedule(key)
  }
  const sampling = new SampleWheel(config.sampleIntervalMs, sample)

  /**
   * What every new charger connection does, whatever the mode: replace an older connection of the same
   * charger, find its station, announce it online. Returns the link for its handlers and what to do
   * when it closes.
   */
  const connected = (conn: Connection, protocol: OcppProtocol, onBoot: (link: Link) => void) => {
    const { charger } = conn
    const key = chargerKey(charger.site, charger.identity)
    metrics.inc('evmon_gateway_connections_total', { protocol })
    const previous = live.get(key)
    if (previous) {
      replaced.add(previous)
      metrics.inc('evmon_gateway_connections_replaced_total')
      log(`${key}: connected again; closing the previous connection`)
      previous.close(1000, 'replaced by a new connection')
    }
    live.set(key, conn)
    let station = stations.get(key)
    if (!station || station.station !== charger.station) {
      // A proxied charger cannot be held back: beyond the backlog cap its messages are dropped, counted.
      station = new Station(
        charger,
        conn.proxied ? out.dropping : out,
        sites.description(charger.site, charger.identity),
      )
      stations.set(key, station)
      for (const tx of Object.values(state.transactions(key))) station.resumeSession(tx.connector, tx.session)
    }
    const link: Link = {
      key,
      protocol,
      station,
      state,
      config,
      metrics,
      log,
      sampleNow: () => sample(key),
      backlogFull: () => out.full,
    }
    const here = station
    const publishMeta = () => {
      const boot = state.boot(key)
      if (boot && live.get(key) === conn) here.publishMeta(boot, protocol)
    }
    const handlers = (protocol === 'ocpp1.6' ? ocpp16Handlers : ocpp201Handlers)(link, {
      booted() {
        publishMeta()
        onBoot(link)
      },
      metaChanged: publishMeta,
    })
    station.publishOnline(true, Date.now())
    publishMeta()
    sampling.schedule(key)
    return {
      link,
      handlers,
      closed(code: number, reason: string) {
        if (live.get(key) === conn) {
          live.delete(key)
          sampling.cancel(key)
        }
        log(`${key}: disconnected (${code}${reason ? ` ${reason}` : ''})`)
        // A replaced connection's station is online on the new one; anything else (a clean close, a
        // dropped network, a removal) is the station going offline, as an MQTT will would say.
        if (!replaced.has(conn)) here.publishOnline(false, Date.now())
        if (removed.has(conn)) stations.delete(key)
      },
    }
  }

  rpc.on('client', (client: RPCClient & { session: Session }) => {
    const { key, charger } = client.session
    const protocol = client.protocol as OcppProtocol
    const conn: Connection = {
      charger,
      proxied: false,
      close: (code, reason) => void client.close({ code, reason }),
      open: () => client.state === 1,
    }
    const { link, handlers, closed } = connected(conn, protocol, (l) => {
      askMeterInterval(client, l)
      askRatings(client, l)
    })
    register(client, link, handlers)
    client.on('badMessage', ({ error }: { error: Error }) => {
      metrics.inc('evmon_gateway_bad_frames_total')
      log(`${key}: bad frame: ${error.message}`)
    })
    client.on('response', ({ outbound, payload }: { outbound: boolean; payload: unknown[] }) => {
      if (outbound && payload[0] === 4)
        metrics.inc('evmon_gateway_call_errors_total', { code: String(payload[2]) })
    })
    client.on(
      'strictValidationFailure',
      ({ method, outbound, error }: { method: string; outbound: boolean; error: Error }) => {
        log(`${key}: ${outbound ? 'our' : 'its'} ${method} failed the schema: ${error.message.slice(0, 200)}`)
      },
    )
    client.on('socketError', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        metrics.inc('evmon_gateway_oversized_frames_total')
        log(`${key}: frame above ${config.maxFrameBytes} bytes; connection closed`)
      } else log(`${key}: socket error: ${err.message}`)
    })
    client.once('close', ({ code, reason }: { code: number; reason: string }) => closed(code, reason))
  })

  const proxy = createProxy({ maxFrameBytes: config.maxFrameBytes, metrics, log })

  /** Routes an upgrade: a proxy site's chargers are passed on to its upstream, the rest go to ocpp-rpc. */
  const upgrade = (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname.split('/')
    const [, prefix, site, rawIdentity] = path
    const siteMode = path.length === 4 && prefix === 'ocpp' && site ? sites.mode(site) : undefined
    if (siteMode?.mode !== 'proxy' || !site) return void rpc.handleUpgrade(request, socket, head)
    let identity = ''
    try {
      identity = decodeURIComponent(rawIdentity ?? '')
    } catch {
      // Not decodable: refused below as not an identity.
    }
    const who = `${JSON.stringify(`${site}/${identity}`)} from ${request.socket.remoteAddress ?? 'unknown'}`
    if (!isOcppIdentity(identity)) {
      metrics.inc('evmon_gateway_upgrades_refused_total', { reason: 'path' })
      log(`refused: ${who}: not /ocpp/{site}/{identity}`)
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')
      return
    }
    // The upstream authenticates proxied chargers; the chargers file, if it lists one, names its station.
    const charger: Charger = chargers.get(site, identity) ?? {
      site,
      identity,
      station: stationIdFor(identity),
      salt: '',
      hash: '',
    }
    proxy.handleUpgrade(
      request,
      socket,
      head,
      who,
      `${siteMode.upstream}/${encodeURIComponent(identity)}`,
      (p) => {
        const conn: Connection = {
          charger,
          proxied: true,
          close: (code, reason) => p.close(code, reason),
          open: p.open,
        }
        const protocol = (PROTOCOLS.includes(p.protocol) ? p.protocol : undefined) as OcppProtocol | undefined
        if (!protocol) {
          // Passed on untouched, but not an OCPP version the gateway reads: nothing to monitor.
          log(`${who}: proxied with subprotocol ${JSON.stringify(p.protocol)}; not monitored`)
          return { closed: () => {} }
        }
        const { handlers, closed } = connected(conn, protocol, () => {})
        p.handlers = handlers
        return { closed: () => closed(1000, '') }
      },
    )
  }

  /**
   * Asks a 2.0.1 charger for its EVSEs' rated power (the Power variable's maxLimit), which it sends in
   * NotifyReport. OCPP 1.6 has no standard configuration key for it: describe 1.6 guns in the sites file.
   */
  let reportRequests = 0
  const askRatings = (client: RPCClient, link: Link) => {
    if (link.protocol !== 'ocpp2.0.1') return
    client
      .call('GetReport', {
        requestId: ++reportRequests,
        componentVariable: [{ component: { name: 'EVSE' }, variable: { name: 'Power' } }],
      })
      .then(
        (answer) => log(`${link.key}: rated power report: ${JSON.stringify(answer).slice(0, 200)}`),
        (err: Error) => log(`${link.key}: rated power not asked: ${err.message}`),
      )
  }

  /** Asks a charger to sample meter values at the configured interval, if one is configured. */
  const askMeterInterval = (client: RPCClient, link: Link) => {
    const seconds = config.meterIntervalS
    if (seconds === undefined) return
    const request =
      link.protocol === 'ocpp1.6'
        ? client.call('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: String(seconds) })
        : client.call('SetVariables', {
            setVariableData: [
              {
                component: { name: 'SampledDataCtrlr' },
                variable: { name: 'TxUpdatedInterval' },
                attributeValue: String(seconds),
              },
            ],
          })
    request.then(
      (answer) => log(`${link.key}: meter interval ${seconds} s: ${JSON.stringify(answer).slice(0, 200)}`),
      (err: Error) => log(`${link.key}: meter interval ${seconds} s not set: ${err.message}`),
    )
  }

  // The chargers file is watched: add-charger and remove take effect at once. Its directory is
  // watched, not the file, because an atomic save replaces the file (a new inode).
  mkdirSync(dirname(config.chargersFile), { recursive: true })
  let reloadTimer: NodeJS.Timeout | undefined
  let reloadWaiters: (() => void)[] = []
  const reload = () => {
    try {
      chargers = Chargers.load(config.chargersFile)
    } catch (err) {
      log(`chargers file not reloaded, keeping the previous one: ${(err as Error).message}`)
      return
    }
    for (const [key, conn] of live) {
      // A proxied charger's password is the upstream's business.
      if (conn.proxied) continue
      const { charger } = conn
      const now = chargers.get(charger.site, charger.identity)
      if (now && now.hash === charger.hash && now.station === charger.station) continue
      removed.add(conn)
      if (!now) state.forget(key)
      log(`${key}: ${now ? 'password or station id changed' : 'removed'}; closing its connection`)
      conn.close(1008, now ? 'credentials changed' : 'charger removed')
    }
    log(`chargers file reloaded: ${chargers.list().length} chargers`)
    for (const w of reloadWaiters.splice(0)) w()
  }
  const watcher: FSWatcher = watch(dirname(config.chargersFile), (_event, name) => {
    if (name !== basename(config.chargersFile)) return
    clearTimeout(reloadTimer)
    reloadTimer = setTimeout(reload, 50)
  })

  const serveHttp = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      const ok = mqttClient.connected
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: ok ? 'ok' : 'broker unreachable', chargers: live.size }))
    } else if (req.method === 'GET' && req.url === '/metrics') {
      sendMetrics(metrics.registry, res)
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found: OCPP chargers connect to /ocpp/{site}/{identity}\n')
    }
  }
  const servers: Server[] = []
  const listen = async (server: Server, port: number) => {
    server.on('upgrade', upgrade)
    // After a gateway restart or a network outage every charger reconnects within seconds: connections
    // beyond the accept queue would be reset, so the queue holds as many as the kernel allows.
    const bound = await listenOn(server, port, config.host, ACCEPT_BACKLOG)
    servers.push(server)
    return bound
  }
  const listenAll = async () => {
    const plain = await listen(createHttpServer(serveHttp), config.port)
    const secure = config.tls
      ? await listen(
          createHttpsServer(
            {
              cert: readFileSync(config.tls.certFile),
              key: readFileSync(config.tls.keyFile),
              // OCPP's security profiles require TLS 1.2 or newer.
              minVersion: 'TLSv1.2',
            },
            serveHttp,
          ),
          config.tls.port,
        )
      : null
    return [plain, secure] as const
  }
  let port: number
  let tlsPort: number | null
  try {
    ;[port, tlsPort] = await listenAll()
  } catch (err) {
    // A port in use or an unreadable certificate: release what was started, then fail.
    watcher.close()
    sampling.stop()
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
    await mqttClient.endAsync(true)
    throw err
  }

  return {
    port,
    tlsPort,
    ocppUrl: `ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/ocpp`,
    metrics,
    reloaded: () => new Promise((resolve) => reloadWaiters.push(resolve)),
    async close() {
      closing = true
      sampling.stop()
      clearTimeout(reloadTimer)
      watcher.close()
      reloadWaiters = []
      // Stations go offline with a time stamp, as the charger connections end.
      for (const conn of live.values()) replaced.add(conn)
      const now = Date.now()
      for (const key of live.keys()) stations.get(key)?.publishOnline(false, now)
      for (const conn of live.values()) if (conn.proxied) conn.close(1001, 'gateway shutting down')
      proxy.close()
      await rpc.close({ code: 1001, reason: 'gateway shutting down' })
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
      await state.flushed()
      // With the broker away, end() would wait for it forever: stop now, and say what is lost.
      if (mqttClient.connected) await mqttClient.endAsync()
      else {
        if (out.queued > 0) log(`stopping with ${out.queued} publishes the broker never acknowledged`)
        await mqttClient.endAsync(true)
      }
    },
  }
}
