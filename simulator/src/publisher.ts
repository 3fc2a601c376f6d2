import { stationClientId } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { onlineMessage, type SimMessage } from './messages.ts'

/** Where the simulator reports what happens to its connections. */
export interface Logger {
  info(message: string): void
  warn(message: string): void
}

export interface PublisherOptions {
  url: string
  username?: string
  password?: string
  site: string
  stations: readonly string[]
  /** Simulated time, for the `online` message sent on every (re)connect. */
  nowMs(): number
  reconnectPeriodMs: number
  connectTimeoutMs: number
  /** New connections opened per second at start, so thousands of stations do not hit the broker at once. */
  connectsPerSecond: number
  /**
   * At most this many stations waiting for their first CONNACK at once: a broker that authenticates
   * slowly (a password hash per CONNECT) is fed no faster than it answers, instead of being buried in
   * connect timeouts and their retries.
   */
  maxConnectsPending: number
  /** Above this many stations, connection problems are summarised instead of logged per station. */
  maxStationsLoggedEach: number
  /** How often the summary of connection problems is logged. */
  summaryIntervalMs: number
  log: Logger
}

/** One MQTT connection per simulated station, as real stations have. */
export interface Publisher {
  /** Publishes at QoS 1 on the station's own connection; mqtt.js queues it while disconnected. */
  publish(message: SimMessage): void
  /** Publishes still waiting for their PUBACK. */
  readonly inFlight: number
  /** Publishes the broker has acknowledged. */
  readonly acknowledged: number
  /** Resolves once every station has connected (at least once). */
  allConnected(): Promise<void>
  /** Resolves once at most `count` publishes are in flight. */
  inFlightAtMost(count: number): Promise<void>
  /**
   * Cuts a station's network connection without an MQTT DISCONNECT, as a power or network failure
   * would: the broker publishes the station's will, and mqtt.js reconnects after its retry period.
   */
  dropConnection(station: string): void
  /** Like {@link dropConnection}, but the station stays offline until {@link reconnect}. */
  loseConnection(station: string): void
  /** Reconnects a station whose connection was lost; it announces itself online on connecting. */
  reconnect(station: string): void
  /**
   * Marks every station offline (retained, time-stamped), waits up to `timeoutMs` for unacknowledged
   * publishes, then disconnects cleanly so no will fires.
   */
  close(nowMs: number, timeoutMs: number): Promise<void>
}

/** The MQTT stations' publisher, with what it does about connections lost under its publishes. */
export interface MqttPublisher extends Publisher {
  /** Publishes mqtt.js failed (connection lost while it resent) and that were published again. */
  readonly republished: number
  /** Publishes given up unacknowledged: only `close` does that, once its timeout is over. */
  readonly abandoned: number
}

/** Opens the stations' connections; they connect and reconnect in the background. */
export function createPublisher(options: PublisherOptions): MqttPublisher {
  const { site, log } = options
  let inFlight = 0
  let acknowledged = 0
  let closing = false
  // Set once close() gave up on what is still in flight.
  let closed = false
  let waiters: { count: number; resolve: () => void }[] = []
  const settle = () => {
    waiters = waiters.filter((w) => {
      if (inFlight > w.count) return true
      w.resolve()
      return false
    })
  }

  // mqtt.js sends its unacknowledged publishes again after a reconnect by itself, but fails those it
  // had only queued while resending (`Connection closed` when the broker goes away again, as a broker
  // restart does): a station keeps such a message and publishes it again, until the broker takes it.
  // It stays counted in flight meanwhile, so the callers' cap on in-flight publishes bounds the memory
  // this holds. A duplicate is harmless: its points land on the same series and timestamp.
  let republished = 0
  let abandoned = 0
  const send = (client: MqttClient, message: SimMessage) => {
    inFlight++
    const payload = JSON.stringify(message.payload)
    const attempt = () => {
      // close() counted it as abandoned already.
      if (closed) return
      client.publish(message.topic, payload, { qos: 1, retain: message.retain }, (err) => {
        if (closed) return
        if (err && !closing) {
          republished++
          // After the reconnect period: the connection this failed on is gone, the next one is not up.
          setTimeout(attempt, options.reconnectPeriodMs).unref()
          return
        }
        inFlight--
        if (err) abandoned++
        else acknowledged++
        settle()
      })
    }
    attempt()
  }

  const inFlightAtMost = (count: number): Promise<void> =>
    inFlight <= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))

  // Connection problems: one line per station for a site, one summary line for a city.
  const summarise = options.stations.length > options.maxStationsLoggedEach
  const problems = new Map<string, number>()
  let reconnected = 0
  const summary = setInterval(() => {
    for (const [reason, count] of problems) {
      log.warn(`${count} stations: ${reason}; retrying every ${options.reconnectPeriodMs} ms`)
    }
    if (reconnected > 0) log.info(`${reconnected} stations connected again`)
    problems.clear()
    reconnected = 0
  }, options.summaryIntervalMs)
  summary.unref()
  const reportError = (station: string, reason: string) => {
    if (summarise) problems.set(reason, (problems.get(reason) ?? 0) + 1)
    else log.warn(`${station}: ${reason}; retrying every ${options.reconnectPeriodMs} ms`)
  }
  const reportBack = (station: string) => {
    if (summarise) reconnected++
    else log.info(`${station}: connected again`)
  }

  const clients = new Map<string, MqttClient>()
  let notYetConnected = options.stations.length
  let everyoneConnected: () => void = () => {}
  const allConnected = new Promise<void>((resolve) => {
    everyoneConnected = resolve
    if (notYetConnected === 0) resolve()
  })
  // Opened by the ramp below, not yet connected once.
  const awaitingConnack = new Set<MqttClient>()
  for (const station of options.stations) {
    let connectedOnce = false
    const will = onlineMessage(site, station, false)
    const client = mqtt.connect(options.url, {
      clientId: stationClientId(site, station),
      username: options.username,
      password: options.password,
      clean: true,
      reconnectPeriod: options.reconnectPeriodMs,
      connectTimeout: options.connectTimeoutMs,
      manualConnect: true,
      will: { topic: will.topic, payload: Buffer.from(JSON.stringify(will.payload)), qos: 1, retain: true },
    })
    // Log a failing connection once, not on every retry, and say when it is back.
    let lastError = ''
    client.on('connect', () => {
      if (!connectedOnce) {
        connectedOnce = true
        awaitingConnack.delete(client)
        if (--notYetConnected === 0) everyoneConnected()
      }
      if (lastError) reportBack(station)
      lastError = ''
      // A reconnect racing close() must not leave a retained `online: true` behind.
      if (!closing) send(client, onlineMessage(site, station, true, options.nowMs()))
    })
    client.on('error', (err) => {
      if (err.message !== lastError) reportError(station, err.message)
      lastError = err.message
    })
    client.on('offline', () => {
      if (!lastError) lastError = 'offline'
    })
    clients.set(station, client)
  }

  // Opens the connections in small batches every tick, at `connectsPerSecond`, with at most
  // `maxConnectsPending` of them awaiting their first CONNACK.
  const RAMP_TICK_MS = 50
  const waiting = [...clients.values()]
  const perTick = Math.max(1, Math.round((options.connectsPerSecond * RAMP_TICK_MS) / 1000))
  const openBatch = () => {
    const room = Math.max(0, Math.min(perTick, options.maxConnectsPending - awaitingConnack.size))
    for (const client of waiting.splice(0, room)) {
      if (closing) continue
      awaitingConnack.add(client)
      client.connect()
    }
    if (waiting.length === 0) clearInterval(ramp)
  }
  const ramp = setInterval(openBatch, RAMP_TICK_MS)
  openBatch()

  const clientOf = (station: string): MqttClient => {
    const client = clients.get(station)
    if (!client) throw new Error(`no connection for station ${JSON.stringify(station)}`)
    return client
  }

  return {
    publish: (message) => send(clientOf(message.station), message),
    get inFlight() {
      return inFlight
    },
    get acknowledged() {
      return acknowledged
    },
    get republished() {
      return republished
    },
    get abandoned() {
      return abandoned
    },
    inFlightAtMost,
    allConnected: () => allConnected,
    dropConnection(station) {
      // Not opened yet (start-up ramp): nothing to drop.
      clientOf(station).stream?.destroy()
    },
    loseConnection(station) {
      const client = clientOf(station)
      // mqtt.js schedules a reconnect only while reconnectPeriod > 0.
      client.options.reconnectPeriod = 0
      client.stream?.destroy()
    },
    reconnect(station) {
      const client = clientOf(station)
      client.options.reconnectPeriod = options.reconnectPeriodMs
      if (!closing && !client.connected) client.reconnect()
    },
    async close(nowMs, timeoutMs) {
      closing = true
      clearInterval(ramp)
      clearInterval(summary)
      for (const [station, client] of clients) send(client, onlineMessage(site, station, false, nowMs))
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))
      const drained = inFlightAtMost(0).then(() => false)
      // With no connection up, nothing can be acknowledged: waiting would only delay the exit.
      const connected = [...clients.values()].some((c) => c.connected)
      const gaveUp = connected ? await Promise.race([drained, timedOut]) : inFlight > 0
      clearTimeout(timer)
      if (gaveUp) log.warn(`closing with ${inFlight} publishes unacknowledged, given up`)
      // mqtt.js does not fail the publishes of a connection ended by force: count them here.
      closed = true
      abandoned += inFlight
      inFlight = 0
      // A station the ramp never opened has no connection to end (and mqtt.js cannot end one).
      const opened = [...clients.values()].filter((c) => c.stream)
      await Promise.all(opened.map((c) => c.endAsync(gaveUp || !c.connected)))
      // Anyone still waiting for the broker gets released: nothing more will be acknowledged.
      for (const w of waiters) w.resolve()
      waiters = []
    },
  }
}
