import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { DEFAULT_DECODE_LIMITS } from '@evmon/contracts'
import type { SimulatorConfig } from './config.ts'
import { startControlApi } from './control-api.ts'
import { DEFAULTS, PUBLISHER_DEFAULTS } from './defaults.ts'
import { onlineMessage, type SimMessage } from './messages.ts'
import { simulatorRegistry } from './metrics.ts'
import { openSite } from './open-site.ts'
import { progressLine } from './progress.ts'
import { createOcppPublisher, routePublisher } from './ocpp/publisher.ts'
import { ocppStations } from './ocpp/options.ts'
import { createPublisher, type Logger, type Publisher } from './publisher.ts'
import type { Site } from './site.ts'

/** A running live simulation. */
export interface SimulatorHandle {
  /** The model being played; its clock is the simulated time. */
  readonly site: Site
  /** Port of the control API, `/healthz` and `/metrics`. */
  readonly port: number
  /** Resolves when the simulation stops: after `durationS` of simulated time, or on close(). */
  readonly done: Promise<void>
  /** Cuts one station's connection abruptly so the broker publishes its will; it reconnects by itself. */
  dropConnection(station: string): void
  /** Stops simulating, saves the state, marks the stations offline and disconnects. Safe to call more than once. */
  close(): Promise<void>
}

export interface StartOptions {
  /** Default: console, prefixed `simulator:`. */
  log?: Logger
  /** Backfill progress line; default: redrawn in place on standard error. */
  progress?: (line: string) => void
}

const consoleLogger: Logger = {
  info: (message) => console.log(`simulator: ${message}`),
  warn: (message) => console.warn(`simulator: ${message}`),
}

// A connection change is acted out on the connection; everything else is published as it is.
function publishTo(publisher: Publisher, message: SimMessage): void {
  if (message.connection === 'lost') publisher.loseConnection(message.station)
  else if (message.connection === 'restored') publisher.reconnect(message.station)
  else publisher.publish(message)
}

// A backfill writes history: an offline episode of the past is published as what the broker would
// have carried then, the will stamped with its simulated time. Dropping a connection with thousands
// of publishes in flight would lose them, and a will fired now would put the episode at the wrong time.
function publishHistory(publisher: Publisher, site: Site, message: SimMessage): void {
  if (message.connection === 'lost') {
    publisher.publish(onlineMessage(site.config.id, message.station, false, site.nowMs))
  } else publisher.publish(message)
}

/**
 * Starts a live simulation (or a backfill): one MQTT connection per station, then one telemetry
 * message per station per simulated sample, paced at `speed` simulated seconds per wall second — or,
 * for a backfill, as fast as the broker acknowledges. Resolves once the connections are opening and
 * the control API listens; they connect (and reconnect) in the background, and publishes wait in
 * mqtt.js's queue meanwhile. When more than {@link DEFAULTS.maxInFlightMessages} publishes are
 * unacknowledged the simulation waits for the broker, then catches up.
 */
export async function start(config: SimulatorConfig, options: StartOptions = {}): Promise<SimulatorHandle> {
  const log = options.log ?? consoleLogger
  const backfill = config.mode === 'backfill'
  const opened = openSite(config)
  const { site } = opened
  const siteId = site.config.id
  const startMs = site.nowMs
  const speed = backfill ? Number.POSITIVE_INFINITY : config.speed

  const maxFutureMs = DEFAULT_DECODE_LIMITS.maxFutureMs
  if (!backfill && (config.speed > 1 || startMs > Date.now() + maxFutureMs)) {
    log.warn(
      `simulated time runs ahead of the wall clock (speed ${config.speed}); ingest refuses samples more than ` +
        `${maxFutureMs / 60_000} min in the future, so start in the past (--start) for long fast runs`,
    )
  }

  const ocpp = config.ocpp ? ocppStations(config.ocpp, site.stationIds) : new Map()
  const mqttPublisher = createPublisher({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    site: siteId,
    stations: site.stationIds.filter((s) => !ocpp.has(s)),
    nowMs: () => site.nowMs,
    ...PUBLISHER_DEFAULTS,
    log,
  })
  // Stations that speak OCPP are chargers of the gateway; the rest publish MQTT.
  const publisher =
    config.ocpp && ocpp.size > 0
      ? routePublisher(
          mqttPublisher,
          createOcppPublisher({ ...config.ocpp, site: siteId, protocols: ocpp, log }),
          (s) => ocpp.has(s),
        )
      : mqttPublisher
  let messages = 0
  const publish = (message: SimMessage) => {
    messages++
    if (backfill) publishHistory(publisher, site, message)
    else publishTo(publisher, message)
  }
  for (const message of site.startupMessages()) publish(message)

  const stop = new AbortController()
  const totalSteps =
    config.durationS === undefined
      ? Number.POSITIVE_INFINITY
      : Math.floor((config.durationS * 1000) / site.sampleIntervalMs)
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  let wallStart = performance.now()
  let steps = 0
  let pausedAt: number | undefined
  let wake: (() => void) | undefined

  const registry = simulatorRegistry(() => ({
    site,
    run: {
      steps,
      messages,
      acknowledged: publisher.acknowledged,
      republished: mqttPublisher.republished,
      abandoned: mqttPublisher.abandoned,
      inFlight: publisher.inFlight,
      paused: pausedAt !== undefined,
    },
  }))
  const control = {
    site,
    get paused() {
      return pausedAt !== undefined
    },
    pause() {
      pausedAt ??= performance.now()
    },
    resume() {
      if (pausedAt === undefined) return
      // The schedule moves by the pause, so simulated time does not jump ahead to catch up.
      wallStart += performance.now() - pausedAt
      pausedAt = undefined
      wake?.()
    },
    metrics: () => registry.metrics(),
  }
  const api = await startControlApi(control, config.host, config.port)
  log.info(
    `site ${siteId}: ${site.stationIds.length} stations, ${site.connectorCount} connectors, seed ${config.seed}, ` +
      `${backfill ? 'backfill' : `speed ${config.speed}`}, start ${new Date(startMs).toISOString()}, ` +
      `publishing to ${config.mqttUrl}; control API on http://${config.host}:${api.port}` +
      (opened.statePath ? `; state ${opened.statePath}` : ''),
  )

  const progress = options.progress ?? ((line: string) => process.stderr.write(`\r${line}`))
  let lastSavedAt = performance.now()
  let lastProgressAt = 0
  const housekeeping = () => {
    const now = performance.now()
    if (now - lastSavedAt >= DEFAULTS.stateSaveIntervalMs) {
      opened.saveState()
      lastSavedAt = now
    }
    if (backfill && now - lastProgressAt >= DEFAULTS.progressIntervalMs) {
      progress(
        progressLine(
          steps * site.connectorCount,
          totalSteps * site.connectorCount,
          now - wallStart,
          site.nowMs,
        ),
      )
      lastProgressAt = now
    }
  }

  // The schedule is fixed to the wall clock at start: a stall (slow broker) is followed by a catch-up,
  // so simulated time stays tied to `speed` × elapsed time instead of drifting.
  const run = async () => {
    // A backfill generates only as fast as the broker takes it: nothing to gain from running ahead
    // of the connections, and its final messages must not meet a broker that never answered.
    if (backfill) {
      await Promise.race([publisher.allConnected(), stopped])
      wallStart = performance.now()
    }
    while (!stop.signal.aborted && steps < totalSteps) {
      housekeeping()
      if (pausedAt !== undefined) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped])
        continue
      }
      if (publisher.inFlight > DEFAULTS.maxInFlightMessages) {
        await Promise.race([publisher.inFlightAtMost(DEFAULTS.maxInFlightMessages / 2), stopped])
        continue
      }
      const elapsedMs = performance.now() - wallStart
      const due = Math.min(totalSteps, Math.floor((elapsedMs * speed) / site.sampleIntervalMs))
      if (steps < due) {
        const batch = Math.min(due - steps, DEFAULTS.maxStepsPerTick)
        for (let i = 0; i < batch && publisher.inFlight <= DEFAULTS.maxInFlightMessages; i++, steps++) {
          for (const message of site.step()) publish(message)
        }
        await yieldToEventLoop()
      } else {
        const nextAt = wallStart + ((steps + 1) * site.sampleIntervalMs) / speed
        await sleep(Math.max(0, nextAt - performance.now()), undefined, { signal: stop.signal }).catch(
          () => {},
        )
      }
    }
    if (backfill) {
      progress(
        progressLine(
          steps * site.connectorCount,
          totalSteps * site.connectorCount,
          performance.now() - wallStart,
          site.nowMs,
        ),
      )
      process.stderr.write('\n')
    }
  }
  const done = run()

  let closing: Promise<void> | undefined
  return {
    site,
    port: api.port,
    done,
    dropConnection: (station) => publisher.dropConnection(station),
    close() {
      closing ??= (async () => {
        stop.abort()
        wake?.()
        await done
        opened.saveState()
        await publisher.close(site.nowMs, DEFAULTS.closeTimeoutMs)
        await api.close()
      })()
      return closing
    },
  }
}
