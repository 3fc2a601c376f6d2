import {
  decodeMessage,
  messageToPoints,
  toLine,
  type SessionEvent,
  type StatusEvent,
  type Telemetry,
} from '@evmon/contracts'
import { createSite, dryRunMessages, loadSiteConfig, toNdjsonLine } from '@evmon/simulator'

/** A seeded simulated day (or any span) of the Beibei site: the NDJSON lines the simulator's dry run writes. */
export function simulatedDay(
  startMs: number,
  seed = 42,
  durationS = 86_400,
  sampleIntervalMs = 1_000,
): string[] {
  const site = createSite(loadSiteConfig('config/sites/beibei.json'), seed, startMs, { sampleIntervalMs })
  return [...dryRunMessages(site, durationS)].map(toNdjsonLine)
}

/** Writes NDJSON lines to InfluxDB exactly as ingest does: contract decoder, point mapping, line protocol. */
export async function writeDay(influxUrl: string, database: string, lines: readonly string[]): Promise<void> {
  const protocol: string[] = []
  // A message without a time of its own (a last will) is stamped when ingest receives it: just after
  // the message before it, in a dry run.
  let receivedAt = 0
  for (const line of lines) {
    const { topic, payload } = JSON.parse(line) as { topic: string; payload: { ts?: number } }
    receivedAt = payload.ts ?? receivedAt
    const result = decodeMessage(topic, Buffer.from(JSON.stringify(payload)), receivedAt, {
      maxPayloadBytes: 1 << 20,
      maxFutureMs: Infinity,
      maxPastMs: Infinity,
    })
    if (!result.ok) throw new Error(`simulated message rejected: ${result.reason} ${result.detail}`)
    for (const point of messageToPoints(result.message, receivedAt)) protocol.push(toLine(point))
  }
  const batches: string[] = []
  for (let i = 0; i < protocol.length; i += 20_000) batches.push(protocol.slice(i, i + 20_000).join('\n'))
  // A few batches in flight: InfluxDB 1.x stalls on many small concurrent writes (docs/design.md pitfalls).
  const next = async (): Promise<void> => {
    for (let batch = batches.shift(); batch !== undefined; batch = batches.shift()) {
      const response = await fetch(`${influxUrl}/write?db=${database}&precision=ms`, {
        method: 'POST',
        body: batch,
      })
      if (!response.ok) throw new Error(`write failed: ${response.status} ${await response.text()}`)
    }
  }
  await Promise.all([next(), next(), next()])
}

/** Messages of one kind parsed back from NDJSON, with the station they came from. */
export function parsed(lines: readonly string[]) {
  const telemetry: Array<{ station: string; t: Telemetry }> = []
  const sessions: Array<{ station: string; s: SessionEvent }> = []
  const statuses: Array<{ station: string; s: StatusEvent }> = []
  for (const line of lines) {
    const { topic, payload } = JSON.parse(line) as { topic: string; payload: unknown }
    const [, , , station, kind] = topic.split('/') as [string, string, string, string, string]
    if (kind === 'telemetry') telemetry.push({ station, t: payload as Telemetry })
    if (kind === 'session') sessions.push({ station, s: payload as SessionEvent })
    if (kind === 'status') statuses.push({ station, s: payload as StatusEvent })
  }
  return { telemetry, sessions, statuses }
}
