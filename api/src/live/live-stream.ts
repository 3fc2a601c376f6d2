import type { LiveFilter } from './live-state.ts'
import { frameJson, type ViewFrame } from './live-view.ts'

/** The part of a WebSocket the stream uses; `ws`' WebSocket satisfies it. */
export interface StreamSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  /** Called with `binary: false`: the frames are JSON text, encoded once for every client. */
  send(data: Buffer, options: { binary: false }): void
}

/** How a {@link LiveStream} reads the live view and paces its frames. */
export interface LiveStreamOptions {
  /** Frames are sent at most once per period, just after each period of {@link frame} begins. */
  periodMs: number
  clock: () => number
  /** The filter's view in the current period, shared with `GET /live`. */
  frame: (filter: LiveFilter) => ViewFrame
  /** Changes whenever a snapshot may have changed; equal keys let a period pass without any work. */
  changeKey: () => string
  /** A client with more than this still unsent is skipped until it catches up. */
  maxBufferedBytes?: number
}

interface Client {
  socket: StreamSocket
  filter: LiveFilter
  filterKey: string
  /** The frame this client's view was last brought up to; null until its snapshot was sent. */
  last: ViewFrame | null
}

const OPEN = 1
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
const SEND_OPTIONS = { binary: false } as const

/**
 * Fans the live view out to WebSocket clients: an immediate snapshot on connect, then at most one
 * delta per period and only when something changed. Clients with the same filter share one frame,
 * and clients brought up from the same frame share one delta: serialised and encoded once, the
 * same bytes sent to each.
 */
export class LiveStream {
  private readonly clients = new Set<Client>()
  private timer: NodeJS.Timeout | null = null
  private lastKey: string | null = null
  /** Snapshot messages by frame, for clients that join while the frame is current. */
  private readonly snapshots = new WeakMap<ViewFrame, Buffer>()

  constructor(private readonly options: LiveStreamOptions) {}

  get size(): number {
    return this.clients.size
  }

  /** Sends `socket` the current snapshot and keeps it updated; call the returned function when it closes. */
  add(socket: StreamSocket, filter: LiveFilter): () => void {
    const client: Client = {
      socket,
      filter,
      filterKey: JSON.stringify([filter.site, filter.station]),
      last: null,
    }
    this.clients.add(client)
    this.send(client, this.options.frame(filter), new Map())
    if (this.timer === null) this.schedule()
    return () => {
      this.clients.delete(client)
      if (this.clients.size === 0) this.stop()
    }
  }

  /** Stops sending; the sockets themselves are closed by the WebSocket server. */
  close(): void {
    this.clients.clear()
    this.stop()
  }

  private stop(): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.lastKey = null
  }

  /** Ticks just as the next period begins, so a tick's frames hold everything received before it. */
  private schedule(): void {
    const { periodMs, clock } = this.options
    const now = clock()
    this.timer = setTimeout(
      () => {
        this.tick()
        if (this.timer !== null) this.schedule()
      },
      periodMs - (((now % periodMs) + periodMs) % periodMs),
    )
  }

  private tick(): void {
    const key = this.options.changeKey()
    if (key === this.lastKey) return
    this.lastKey = key
    const frames = new Map<string, ViewFrame>()
    // Deltas of this tick by the frame they start from: one text for every client that had it.
    const deltas = new Map<ViewFrame, Map<ViewFrame, Buffer | null>>()
    for (const client of this.clients) {
      let frame = frames.get(client.filterKey)
      if (frame === undefined) {
        frame = this.options.frame(client.filter)
        frames.set(client.filterKey, frame)
      }
      let byFrom = deltas.get(frame)
      if (byFrom === undefined) deltas.set(frame, (byFrom = new Map()))
      // A skipped client must still get the latest state, even if nothing changes after this tick.
      if (!this.send(client, frame, byFrom)) this.lastKey = null
    }
  }

  private send(client: Client, frame: ViewFrame, deltas: Map<ViewFrame, Buffer | null>): boolean {
    const { socket, last } = client
    if (socket.readyState !== OPEN) return true
    if (last === frame) return true
    if (socket.bufferedAmount > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) return false
    let data: Buffer | null
    if (last === null) {
      data = this.snapshots.get(frame) ?? null
      if (data === null) {
        data = Buffer.from(`{"type":"snapshot","data":${frameJson(frame)}}`)
        this.snapshots.set(frame, data)
      }
    } else if (deltas.has(last)) data = deltas.get(last) ?? null
    else {
      data = deltaMessage(last, frame)
      deltas.set(last, data)
    }
    if (data !== null) socket.send(data, SEND_OPTIONS)
    client.last = frame
    return true
  }
}

/** Changed and removed stations since `from`, encoded; null when nothing but `ts` changed. */
function deltaMessage(from: ViewFrame, to: ViewFrame): Buffer | null {
  const changed: string[] = []
  for (const [key, json] of to.stations) if (from.stations.get(key) !== json) changed.push(json)
  const removed: string[] = []
  for (const key of from.stations.keys()) {
    if (!to.stations.has(key)) {
      const [site, station] = key.split('/')
      removed.push(JSON.stringify({ site, station }))
    }
  }
  if (changed.length === 0 && removed.length === 0 && from.head === to.head) return null
  return Buffer.from(
    `{"type":"delta","data":{"ts":${to.ts},${to.head},"stations":[${changed.join(',')}],"removed":[${removed.join(',')}]}}`,
  )
}
