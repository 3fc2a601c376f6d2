import { watch, mkdirSync, readFileSync, type FSWatcher } from 'node:fs'
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { basename, dirname } from 'node:path'
import { isValidId, OCPP_PROTOCOLS, type OcppProtocol } from '@evmon/contracts'
import { SecretChecker } from '@evmon/contracts/secrets'
import mqtt from 'mqtt'
import { RPCServer, type RPCClient } from 'ocpp-rpc'
import { chargerKey, Chargers, isOcppIdentity, type Charger } from './chargers.ts'
import type { GatewayConfig } from './config.ts'
import { ContractOut } from './contract-out.ts'
import type { Link } from './link.ts'
import { Metrics } from './metrics.ts'
import { serveOcpp16 } from './ocpp16.ts'
import { serveOcpp201 } from './ocpp201.ts'
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

  const live = new Map<string, RPCClient>()
  const stations = new Map<string, Station>()
  const metrics = new Metrics(() => ({
    evmon_gateway_chargers_connected: { help: 'Chargers connected now.', value: live.size },
    evmon_gateway_mqtt_connected: {
      help: '1 while the broker connection is up.',
      value: mqttClient.connected ? 1 : 0,
    },
  }))

  const mqttClient = mqtt.connect(config.mqttUrl, {
    clientId: `evmon-gateway-${process.pid}-${Date.now().toString(36)}`,
    ...(config.mqttUsername && { username: config.mqttUsername }),
    ...(config.mqttPassword && { password: config.mqttPassword }),
    reconnectPeriod: 1000,
  })
  mqttClient.on('error', (err) => log(`broker: ${err.message}`))
  const out = new ContractOut(mqttClient, metrics, log)

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
    const charger = chargers.get(site, identity)
    if (!charger) return refuse(reject, 401, 'unknown_charger', `${who}: unknown charger`)
    if (!handshake.password)
      return refuse(reject, 401, 'no_password', `${who}: no Basic auth for the identity`)
    const key = chargerKey(site, identity)
    if (!(await checker.matches(key, charger, handshake.password))) {
      return refuse(reject, 401, 'bad_password', `${who}: wrong password`)
    }
    // Removed or rotated while the password was checked.
    if (chargers.get(site, identity) !== charger)
      return refuse(reject, 401, 'unknown_charger', `${who}: removed`)
    const session: Session = { key, charger }
    accept(session)
  })

  const replaced = new WeakSet<RPCClient>()
  const removed = new WeakSet<RPCClient>()

  rpc.on('client', (client: RPCClient & { session: Session }) => {
    const { key, charger } = client.session
    const protocol = client.protocol as OcppProtocol
    metrics.inc('evmon_gateway_connections_total', { protocol })
    const previous = live.get(key)
    if (previous) {
      replaced.add(previous)
      metrics.inc('evmon_gateway_connections_replaced_total')
      log(`${key}: connected again; closing the previous connection`)
      void previous.close({ code: 1000, reason: 'replaced by a new connection' })
    }
    live.set(key, client)
    let station = stations.get(key)
    if (!station || station.station !== charger.station) {
      station = new Station(charger, out, sites.description(charger.site, charger.identity))
      stations.set(key, station)
      for (const tx of Object.values(state.transactions(key))) station.resumeSession(tx.connector, tx.session)
    }
    const link: Link = { key, protocol, station, state, config, metrics, log }
    const here = station
    const publishMeta = () => {
      const boot = state.boot(key)
      if (boot && live.get(key) === client) here.publishMeta(boot, protocol)
    }
    const onBoot = () => {
      publishMeta()
      askMeterInterval(client, link)
    }
    if (protocol === 'ocpp1.6') serveOcpp16(client, link, onBoot)
    else serveOcpp201(client, link, onBoot)
    station.publishOnline(true, Date.now())
    publishMeta()

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
    client.once('close', ({ code, reason }: { code: number; reason: string }) => {
      if (live.get(key) === client) live.delete(key)
      log(`${key}: disconnected (${code}${reason ? ` ${reason}` : ''})`)
      // A replaced connection's station is online on the new one; anything else (a clean close, a
      // dropped network, a removal) is the station going offline, as an MQTT will would say.
      if (!replaced.has(client)) here.publishOnline(false, Date.now())
      if (removed.has(client)) stations.delete(key)
    })
  })

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
    for (const [key, client] of live) {
      const { charger } = (client as RPCClient & { session: Session }).session
      const now = chargers.get(charger.site, charger.identity)
      if (now && now.hash === charger.hash && now.station === charger.station) continue
      removed.add(client)
      if (!now) state.forget(key)
      log(`${key}: ${now ? 'password or station id changed' : 'removed'}; closing its connection`)
      void client.close({ code: 1008, reason: now ? 'credentials changed' : 'charger removed' })
    }
    log(`chargers file reloaded: ${chargers.list().length} chargers`)
    for (const w of reloadWaiters.splice(0)) w()
  }
  const watcher: FSWatcher = watch(dirname(config.chargersFile), (_event, name) => {
    if (name !== basename(config.chargersFile)) return
    clearTimeout(reloadTimer)
    reloadTimer = setTimeout(reload, 50)
  })

  const telemetry = setInterval(() => {
    const now = Date.now()
    for (const [key, client] of live) {
      if (client.state !== 1 || !state.boot(key)) continue
      stations.get(key)?.publishTelemetry(now, config.staleAfterMs, config.sampleIntervalMs)
    }
  }, config.sampleIntervalMs)

  const serveHttp = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      const ok = mqttClient.connected
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ status: ok ? 'ok' : 'broker unreachable', chargers: live.size }))
    } else if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      res.end(metrics.render())
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('not found: OCPP chargers connect to /ocpp/{site}/{identity}\n')
    }
  }
  const servers: Server[] = []
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.on('upgrade', rpc.handleUpgrade)
      server.once('error', reject)
      server.listen(port, config.host, () => {
        server.off('error', reject)
        servers.push(server)
        resolve((server.address() as AddressInfo).port)
      })
    })
  const port = await listen(createHttpServer(serveHttp), config.port)
  const tlsPort = config.tls
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

  return {
    port,
    tlsPort,
    ocppUrl: `ws://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}/ocpp`,
    metrics,
    reloaded: () => new Promise((resolve) => reloadWaiters.push(resolve)),
    async close() {
      clearInterval(telemetry)
      clearTimeout(reloadTimer)
      watcher.close()
      reloadWaiters = []
      // Stations go offline with a time stamp, as the charger connections end.
      for (const client of live.values()) replaced.add(client)
      const now = Date.now()
      for (const key of live.keys()) stations.get(key)?.publishOnline(false, now)
      await rpc.close({ code: 1001, reason: 'gateway shutting down' })
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
      await state.flushed()
      await mqttClient.endAsync()
    },
  }
}
