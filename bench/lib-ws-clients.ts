// Dashboard-like WebSocket clients of the live stream, run by the benches as a child process of their own
// so that parsing every frame does not share the measured server's event loop. Opens `clients`
// sockets to `url`, waits for each one's snapshot, then for `durationS` seconds records, for every
// sample each client receives (a station in a delta with a `last_ts` newer than the client had), the
// time from the sample (`last_ts`) to the frame's arrival. A delta that repeats a station's sample
// because something else about it changed (a status event, say) is not that sample's update again:
// counting it would measure the sample's age, not its delivery. Sends a {@link WsResult} to the parent.
import WebSocket from 'ws'
import { startGate } from './lib-child.ts'
import { percentile } from './lib-measure.ts'

export interface WsSpec {
  url: string
  token: string
  clients: number
  durationS: number
  /** Wait at the start gate (bench/lib-child.ts `gatedChild`) once connected, before measuring. */
  gate?: boolean
}

export interface WsResult {
  connected: number
  /** Deltas received over the window, all clients together. */
  frames: number
  /** Samples measured (one per new station sample per client). */
  updates: number
  p50_ms: number
  p99_ms: number
  max_ms: number
  /** When (epoch ms) the slowest update arrived: lines a stall up with what else happened then. */
  max_at: number
  /** Clients whose socket closed or failed during the run. */
  lost: number
}

/** Opened this many at a time, so the handshakes do not all queue at once. */
const CONNECT_BATCH = 50

const spec = JSON.parse(process.argv[2] ?? '') as WsSpec
const sockets: WebSocket[] = []
let measuring = false
let frames = 0
let lost = 0
const latencies: number[] = []
let worst = Number.NEGATIVE_INFINITY
let worstAt = Number.NaN

const open = (): Promise<WebSocket> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(spec.url, { headers: { authorization: `Bearer ${spec.token}` } })
    // The newest sample this client has seen, by station.
    const seen = new Map<string, number>()
    ws.once('error', reject)
    ws.once('message', () => resolve(ws)) // the snapshot
    ws.on('message', (data: Buffer) => {
      const at = Date.now()
      const frame = JSON.parse(data.toString('utf8')) as {
        type: string
        data: { stations: Array<{ site: string; station: string; last_ts: number | null }> }
      }
      if (measuring && frame.type === 'delta') frames++
      for (const s of frame.data.stations) {
        if (s.last_ts === null) continue
        const key = `${s.site}/${s.station}`
        if (s.last_ts <= (seen.get(key) ?? Number.NEGATIVE_INFINITY)) continue
        seen.set(key, s.last_ts)
        if (measuring && frame.type === 'delta') {
          if (at - s.last_ts > worst) [worst, worstAt] = [at - s.last_ts, at]
          latencies.push(at - s.last_ts)
        }
      }
    })
    ws.on('close', () => {
      if (measuring) lost++
    })
  })

for (let i = 0; i < spec.clients; i += CONNECT_BATCH)
  sockets.push(
    ...(await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, spec.clients - i) }, open))),
  )
await startGate(spec)
measuring = true
process.send?.('measuring')
await new Promise((resolve) => setTimeout(resolve, spec.durationS * 1000))
measuring = false
const result: WsResult = {
  connected: sockets.length,
  frames,
  updates: latencies.length,
  p50_ms: percentile(latencies, 50),
  p99_ms: percentile(latencies, 99),
  max_ms: percentile(latencies, 100),
  max_at: worstAt,
  lost,
}
for (const ws of sockets) ws.terminate()
process.send?.(result, () => process.disconnect())
