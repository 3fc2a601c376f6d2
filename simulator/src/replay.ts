import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { isMessageKind, parseStationTopic } from '@evmon/contracts'
import type { SimulatorConfig } from './config.ts'
import { DEFAULTS, PUBLISHER_DEFAULTS } from './defaults.ts'
import { stationMessage, type SimMessage } from './messages.ts'
import { createPublisher, type Logger } from './publisher.ts'

/** A replay in progress. */
export interface ReplayHandle {
  /** Resolves when every line has been published (or on close()). */
  readonly done: Promise<{ messages: number; skipped: number }>
  close(): Promise<void>
}

interface Line {
  topic: string
  payload: unknown
}

async function* lines(path: string): AsyncGenerator<string> {
  const reader = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })
  for await (const line of reader) if (line.trim() !== '') yield line
}

// The recording's own site and stations: a first pass, so each station gets its connection (and
// will) before the first message.
async function recordedStations(path: string): Promise<{ site?: string; stations: string[] }> {
  const stations = new Set<string>()
  let site: string | undefined
  for await (const text of lines(path)) {
    let topic: unknown
    try {
      topic = (JSON.parse(text) as Line).topic
    } catch {
      continue
    }
    const parsed = typeof topic === 'string' ? parseStationTopic(topic) : undefined
    if (!parsed?.ok) continue
    site ??= parsed.topic.site
    stations.add(parsed.topic.station)
  }
  return { ...(site === undefined ? {} : { site }), stations: [...stations] }
}

/**
 * Publishes an NDJSON recording (the dry-run format, which the API's export also produces) with
 * its original timing scaled by `speed`, under `replaySite` if given. Payloads go out as recorded —
 * timestamps included — so a replay stores exactly the recorded history. A line that is not a
 * station message of the contract is skipped and counted, never fatal.
 */
export async function startReplay(config: SimulatorConfig, log: Logger): Promise<ReplayHandle> {
  const path = config.replayPath as string
  const recorded = await recordedStations(path)
  const stations = recorded.stations
  const site = config.replaySite ?? recorded.site ?? 'replay'
  let firstTs: number | undefined
  let lastTs = 0
  const wallStart = performance.now()
  const publisher = createPublisher({
    url: config.mqttUrl,
    username: config.username,
    password: config.password,
    site,
    stations,
    nowMs: () => lastTs,
    ...PUBLISHER_DEFAULTS,
    log,
  })
  const stop = new AbortController()
  log.info(`replaying ${path}: ${stations.length} stations as site ${site}, speed ${config.speed}`)

  const run = async () => {
    let messages = 0
    let skipped = 0
    for await (const text of lines(path)) {
      if (stop.signal.aborted) break
      let message: SimMessage
      try {
        const line = JSON.parse(text) as Line
        const parsed = parseStationTopic(line.topic)
        if (!parsed.ok || !isMessageKind(parsed.topic.kind))
          throw new Error(parsed.ok ? 'kind' : parsed.reason)
        message = stationMessage(site, parsed.topic.station, parsed.topic.kind, line.payload as never)
      } catch {
        skipped++
        continue
      }
      const ts = (message.payload as { ts?: unknown }).ts
      if (typeof ts === 'number') {
        firstTs ??= ts
        lastTs = ts
        const dueAt = wallStart + (ts - firstTs) / config.speed
        const waitMs = dueAt - performance.now()
        if (waitMs > 0) await sleep(waitMs, undefined, { signal: stop.signal }).catch(() => {})
      }
      if (publisher.inFlight > DEFAULTS.maxInFlightMessages) {
        await publisher.inFlightAtMost(DEFAULTS.maxInFlightMessages / 2)
      }
      publisher.publish(message)
      messages++
    }
    return { messages, skipped }
  }
  const done = run()
  let closing: Promise<void> | undefined
  return {
    done,
    close() {
      closing ??= (async () => {
        stop.abort()
        await done
        await publisher.close(lastTs, DEFAULTS.closeTimeoutMs)
      })()
      return closing
    },
  }
}
