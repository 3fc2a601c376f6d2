// The measured side of `npm run bench -- api`, run by bench/api.ts as a child process so that the
// load generator's own work (autocannon parses every answer) does not share the server's event loop.
// `bare`: a bare Fastify route, the ceiling (and `/bare/:bytes`, the same with an answer of that size;
// `/bare-headers/:bytes`, that with the API's response headers too). `api`: the API, its live view fed with 50,000
// connectors that each send telemetry once a second, as long as it runs (see liveFeed). Sends `{ url, pid }` to
// the parent when listening (with the feed's messages per second) and stops when the parent disconnects.
import { createHash } from 'node:crypto'
import { stationTopic } from '@evmon/contracts'
import Fastify, { type FastifyReply } from 'fastify'
import { loadConfig, start } from '../api/src/index.ts'
import type { MessageFeed } from '../api/src/live/mqtt-feed.ts'

/** What the parent passes in `process.argv[2]`, as JSON. */
export type ServerSpec =
  | { role: 'bare'; headers: Record<string, string> }
  | { role: 'api'; influxUrl: string; db: string; token: string; now: number }

const SITES = 50
const STATIONS_PER_SITE = 100
const CONNECTORS_PER_STATION = 10 // 50 × 100 × 10 = 50,000 connectors
/** The Beibei site's stations and their connectors, as in its site file (11 connectors). */
const BEIBEI = [
  ['zn-super', 3],
  ['kc-fast-1', 2],
  ['kc-fast-2', 2],
  ['kc-ac', 4],
] as const
/** Telemetry messages per second the feed sends: every station once a second. */
const FEED_MSGS_PER_S = SITES * STATIONS_PER_SITE + BEIBEI.length

/** How often the feed sends a share of the stations' telemetry: 1/20 of them every 50 ms. */
const FEED_SLICE_MS = 50

/**
 * The live view's feed: every synthetic station plus the Beibei stations describe themselves and come
 * online, then each sends one telemetry sample per second (its power and statuses moving, so every
 * sample changes the state), spread evenly over the second. Messages go through the API's real path
 * (topic parsing, JSON decoding, contract validation, the live state) in the API process; only the MQTT
 * client's packet parsing is not exercised, and building the payloads here is charged to the API process.
 * A slice that runs late sends what is due, so the rate holds as long as the process keeps up. The order
 * is shuffled every second, so each station's sample falls at a random point of the API's live period
 * (as independent stations' clocks would) and a stream's latency is sampled over the whole period.
 */
function liveFeed(now: number): MessageFeed {
  let timer: NodeJS.Timeout | null = null
  return {
    start(onMessage) {
      const send = (site: string, station: string, kind: 'meta' | 'online' | 'telemetry', payload: unknown) =>
        onMessage(stationTopic(site, station, kind), Buffer.from(JSON.stringify(payload)))
      const connectors = (n: number) =>
        Array.from({ length: n }, (_, i) => ({
          id: i + 1,
          kind: 'dc',
          standard: 'GB/T 20234.3',
          max_power_w: 160_000,
          max_current_a: 250,
          min_voltage_v: 200,
          max_voltage_v: 1000,
        }))
      const stations: Array<{ site: string; id: string; n: number }> = []
      const station = (site: string, id: string, n: number, maxW = 160_000) => {
        stations.push({ site, id, n })
        send(site, id, 'meta', {
          v: 1,
          name: id,
          cooling: 'air',
          cabinet_max_power_w: maxW * 2,
          connectors: connectors(n),
        })
        send(site, id, 'online', { online: true, ts: now })
        sendTelemetry(site, id, n, now, 1)
      }
      const sendTelemetry = (site: string, id: string, n: number, ts: number, seq: number) => {
        const busy = seq % n // one connector in n changes state each sample; powers move every sample
        send(site, id, 'telemetry', {
          v: 1,
          ts,
          seq,
          meter: { grid_power_w: 100_000 + (seq % 1000) * 10, grid_energy_wh: 1e6 + seq, aux_power_w: 500 },
          connectors: Array.from({ length: n }, (_, i) => ({
            id: i + 1,
            status: i % 3 === 0 || i === busy ? 'Charging' : 'Available',
            power_w: i % 3 === 0 || i === busy ? 90_000 + (seq % 100) * 10 : 0,
            offered_w: 0,
            voltage_v: 0,
            current_a: 0,
            energy_wh: 1000 + seq,
            ...((i % 3 === 0 || i === busy) && { soc_pct: 40 }),
          })),
        })
      }
      for (let s = 0; s < SITES; s++) {
        for (let t = 0; t < STATIONS_PER_SITE; t++) station(`site-${s}`, `st-${t}`, CONNECTORS_PER_STATION)
      }
      for (const [id, n] of BEIBEI) station('beibei', id, n)
      const started = Date.now()
      let sent = 0
      timer = setInterval(() => {
        const t = Date.now()
        const due = Math.floor(((t - started) * stations.length) / 1_000)
        for (; sent < due; sent++) {
          const i = sent % stations.length
          if (i === 0) shuffle(stations)
          const s = stations[i] as (typeof stations)[number]
          sendTelemetry(s.site, s.id, s.n, t, 2 + Math.floor(sent / stations.length))
        }
      }, FEED_SLICE_MS)
    },
    connected: () => true,
    close: async () => {
      if (timer !== null) clearInterval(timer)
    },
  }
}

/** Fisher–Yates, in place. */
function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
}

async function serve(spec: ServerSpec): Promise<{ url: string; close(): Promise<void> }> {
  if (spec.role === 'bare') {
    const bare = Fastify()
    bare.get('/bare', async () => ({ ok: true }))
    // The same bare route answering `bytes` of JSON: what an answer's size alone costs.
    const sized = new Map<number, Buffer>()
    const sizedBody = (param: string, reply: FastifyReply) => {
      const bytes = Math.min(Math.max(Number(param) || 0, 12), 1_000_000)
      let body = sized.get(bytes)
      if (body === undefined) {
        body = Buffer.from(JSON.stringify({ pad: 'x'.repeat(bytes - 10) }))
        sized.set(bytes, body)
      }
      return reply.type('application/json; charset=utf-8').send(body)
    }
    bare.get<{ Params: { bytes: string } }>('/bare/:bytes', async (request, reply) =>
      sizedBody(request.params.bytes, reply),
    )
    // The same again with the response headers the API sends (security, CORS, rate limit): what the
    // header set alone costs, on the server and in the client that parses it.
    bare.get<{ Params: { bytes: string } }>('/bare-headers/:bytes', async (request, reply) => {
      reply.headers(spec.headers)
      return sizedBody(request.params.bytes, reply)
    })
    await bare.listen({ host: '127.0.0.1', port: 0 })
    const { port } = bare.server.address() as { port: number }
    return { url: `http://127.0.0.1:${port}`, close: () => bare.close() }
  }
  return start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_INFLUX_URL: spec.influxUrl,
      EVMON_INFLUX_DB: spec.db,
      EVMON_LOG_LEVEL: 'warn',
      EVMON_API_TOKENS: `operator:${createHash('sha256').update(spec.token).digest('hex')}`,
      // CORS on, as a deployment serving a separate dashboard origin would have it.
      EVMON_CORS_ORIGINS: 'https://ops.example',
      // Raised so that the run is not answered 429; the rate-limit plugin still runs on every request.
      EVMON_RATE_LIMIT_PUBLIC: '10000000',
      EVMON_RATE_LIMIT_TOKEN: '10000000',
    }),
    { feed: liveFeed(spec.now) },
  )
}

const server = await serve(JSON.parse(process.argv[2] ?? '') as ServerSpec)
process.send?.({ url: server.url, pid: process.pid, feedMsgsPerS: FEED_MSGS_PER_S })
process.once('disconnect', () => {
  void server.close().then(() => process.exit(0))
})
