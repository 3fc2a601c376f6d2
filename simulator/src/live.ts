import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises'
import { DEFAULT_DECODE_LIMITS } from '@evmon/contracts'
import { startTimeOf, type SimulatorConfig } from './config.ts'
import { DEFAULTS } from './defaults.ts'
import { createPublisher, type Logger } from './publisher.ts'
import { loadSiteConfig } from './site-config.ts'
import { createSite, type Site } from './site.ts'

/** A running live simulation. */
export interface SimulatorHandle {
  /** The model being played; its clock is the simulated time. */
  readonly site: Site
  /** Resolves when the simulation stops: after `durationS` of simulated time, or on close(). */
  readonly done: Promise<void>
  /** Cuts one station's connection abruptly so the broker publishes its will; it reconnects by itself. */
  dropConnection(station: string): void
  /** Stops simulating, marks the stations offline and disconnects. Safe to call more than once. */
  close(): Promise<void>
}

export interface StartOptions {
  /** Default: console, prefixed `simulator:`. */
  log?: Logger
}

const consoleLogger: Logger = {
  info: (message) => console.log(`simulator: ${message}`),
  warn: (message) => console.warn(`simulator: ${message}`),
}

/**
 * Starts a live simulation: one MQTT connection per station, then one telemetry message per station
 * per simulated sample, paced at `speed` simulated seconds per wall second. Resolves once the
 * connections are opening; they connect (and reconnect) in the background, and publishes wait in
 * mqtt.js's queue meanwhile. When more than {@link DEFAULTS.maxInFlightMessages} publishes are
 * unacknowledged the simulation waits for the broker, then catches up.
 */
export async function start(config: SimulatorConfig, options: StartOptions = {}): Promise<SimulatorHandle> {
  const log = options.log ?? consoleLogger
  const siteConfig = loadSiteConfig(config.sitePath)
  const startMs = startTimeOf(config)
  const site = createSite(siteConfig, config.seed, startMs, { sampleIntervalMs: config.sampleIntervalMs })

  const maxFutureMs = DEFAULT_DECODE_LIMITS.maxFutureMs
  if (config.speed > 1 || startMs > Date.now() + maxFutureMs) {
    log.warn(
      `simulated time runs ahead of the wall clock (speed ${config.speed}); ingest refuses samples more than ` +
        `${maxFutureMs / 60_000} min in the future, so start in the past (--start) for long fast runs`,
    )
  }

  const publisher = createPublisher({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    site: siteConfig.id,
    stations: site.stationIds,
    nowMs: () => site.nowMs,
    reconnectPeriodMs: DEFAULTS.reconnectPeriodMs,
    connectTimeoutMs: DEFAULTS.connectTimeoutMs,
    log,
  })
  for (const message of site.startupMessages()) publisher.publish(message)
  log.info(
    `site ${siteConfig.id}: ${site.stationIds.length} stations, seed ${config.seed}, speed ${config.speed}, ` +
      `start ${new Date(startMs).toISOString()}, publishing to ${config.mqttUrl}`,
  )

  const stop = new AbortController()
  const totalSteps =
    config.durationS === undefined
      ? Number.POSITIVE_INFINITY
      : Math.floor((config.durationS * 1000) / site.sampleIntervalMs)
  const stopped = new Promise<void>((resolve) =>
    stop.signal.addEventListener('abort', () => resolve(), { once: true }),
  )
  const wallStart = performance.now()
  let steps = 0

  // The schedule is fixed to the wall clock at start: a stall (slow broker) is followed by a catch-up,
  // so simulated time stays tied to `speed` × elapsed time instead of drifting.
  const run = async () => {
    while (!stop.signal.aborted && steps < totalSteps) {
      if (publisher.inFlight > DEFAULTS.maxInFlightMessages) {
        await Promise.race([publisher.inFlightAtMost(DEFAULTS.maxInFlightMessages / 2), stopped])
        continue
      }
      const elapsedMs = performance.now() - wallStart
      const due = Math.min(totalSteps, Math.floor((elapsedMs * config.speed) / site.sampleIntervalMs))
      if (steps < due) {
        const batch = Math.min(due - steps, DEFAULTS.maxStepsPerTick)
        for (let i = 0; i < batch; i++, steps++) for (const message of site.step()) publisher.publish(message)
        await yieldToEventLoop()
      } else {
        const nextAt = wallStart + ((steps + 1) * site.sampleIntervalMs) / config.speed
        await sleep(Math.max(0, nextAt - performance.now()), undefined, { signal: stop.signal }).catch(
          () => {},
        )
      }
    }
  }
  const done = run()

  let closing: Promise<void> | undefined
  return {
    site,
    done,
    dropConnection: (station) => publisher.dropConnection(station),
    close() {
      closing ??= (async () => {
        stop.abort()
        await done
        await publisher.close(site.nowMs, DEFAULTS.closeTimeoutMs)
      })()
      return closing
    },
  }
}
