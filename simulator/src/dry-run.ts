import { once } from 'node:events'
import { createWriteStream, openSync } from 'node:fs'
import type { Writable } from 'node:stream'
import type { SimulatorConfig } from './config.ts'
import { DEFAULTS } from './defaults.ts'
import { onlineMessage, toNdjsonLine, type SimMessage } from './messages.ts'
import { openSite } from './open-site.ts'
import type { Site } from './site.ts'

/**
 * Every message a live run of `durationS` simulated seconds would publish, in order: each station's
 * startup messages and `online`, the samples, and the `online: false` of a clean shutdown.
 */
export function* dryRunMessages(site: Site, durationS: number): Generator<SimMessage> {
  const siteId = site.config.id
  yield* site.startupMessages()
  for (const station of site.stationIds) yield onlineMessage(siteId, station, true, site.nowMs)
  const steps = Math.floor((durationS * 1000) / site.sampleIntervalMs)
  for (let i = 0; i < steps; i++) yield* site.step()
  for (const station of site.stationIds) yield onlineMessage(siteId, station, false, site.nowMs)
}

/**
 * Runs the simulation as fast as possible without a broker and writes exactly what would be
 * published as NDJSON, one `{"topic", "payload", "retain"}` per line, to `config.out` or standard
 * output. Only with `--state` does it read and write a state file: otherwise it is a pure function
 * of seed, site and start time.
 */
export async function runDryRun(config: SimulatorConfig): Promise<{ messages: number; lastMs: number }> {
  const opened = openSite(config)
  const { site } = opened
  const toStdout = config.out === undefined || config.out === '-'
  // Opening synchronously turns a bad path into an immediate, plain error instead of a stream event.
  const out: Writable = toStdout
    ? process.stdout
    : createWriteStream('', { fd: openSync(config.out as string, 'w') })
  let messages = 0
  let chunk = ''
  const flush = async () => {
    if (!out.write(chunk)) await once(out, 'drain')
    chunk = ''
  }
  for (const message of dryRunMessages(site, config.durationS ?? DEFAULTS.dryRunDurationS)) {
    chunk += `${toNdjsonLine(message)}\n`
    messages++
    // Writing in ~1 MB chunks keeps a long dry run fast without holding it all in memory.
    if (chunk.length > 1_000_000) await flush()
  }
  await flush()
  if (!toStdout) {
    out.end()
    await once(out, 'finish')
  }
  opened.saveState()
  return { messages, lastMs: site.nowMs }
}
