import type { LiveView } from '@evmon/contracts'
import type { LiveFilter } from './live-state.ts'

/** The part of a WebSocket the stream uses; `ws`' WebSocket satisfies it. */
export interface StreamSocket {
  readonly readyState: number
  readonly bufferedAmount: number
  send(data: string): void
}

/** How a {@link LiveStream} reads the live view and paces its frames. */
export interface LiveStreamOptions {
  /** Snapshots are sent at most this often. */
  intervalMs: number
  view: (filter: LiveFilter) => LiveView
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
  last: Frame | null
}

/** One filter's view at one tick: each station serialised once, shared by every client of the filter. */
interface Frame {
  ts: number
  head: string
  stations: Map<string, string>
  /** Delta text from a given previous frame, computed once for all clients that had that frame. */
  deltaFrom?: { from: Frame; text: string | null }
}

const OPEN = 1
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024

/**
 * Fans the live view out to WebSocket clients: an immediate snapshot on connect, then at most one per
 * interval and only when something changed. Clients with the same filter share one serialisation.
 */
export class LiveStream {
  private readonly clients = new Set<Client>()
  private timer: NodeJS.Timeout | null = null
  private lastKey: string | null = null

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
    this.send(client, this.frame(filter))
    this.timer ??= setInterval(() => this.tick(), this.options.intervalMs)
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
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
    this.lastKey = null
  }

  private tick(): void {
    const key = this.options.changeKey()
    if (key === this.lastKey) return
    this.lastKey = key
    const frames = new Map<string, Frame>()
    for (const client of this.clients) {
      let frame = frames.get(client.filterKey)
      if (frame === undefined) {
        frame = this.frame(client.filter)
        frames.set(client.filterKey, frame)
      }
      // A skipped client must still get the latest state, even if nothing changes after this tick.
      if (!this.send(client, frame)) this.lastKey = null
    }
  }

  private send(client: Client, frame: Frame): boolean {
    const { socket } = client
    if (socket.readyState !== OPEN) return true
    if (socket.bufferedAmount > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) return false
    const text = client.last === null ? snapshotText(frame) : deltaText(client.last, frame)
    if (text !== null) socket.send(text)
    client.last = frame
    return true
  }

  // Each station is serialised once per tick and used both to detect its change and as frame text.
  private frame(filter: LiveFilter): Frame {
    const view = this.options.view(filter)
    const stations = new Map<string, string>()
    for (const s of view.stations) stations.set(`${s.site}/${s.station}`, JSON.stringify(s))
    const head = `"site_power_w":${JSON.stringify(view.site_power_w)},"sites":${JSON.stringify(view.sites)}`
    return { ts: view.ts, head, stations }
  }
}

function snapshotText(frame: Frame): string {
  return `{"type":"snapshot","data":{"ts":${frame.ts},${frame.head},"stations":[${[...frame.stations.values()].join(',')}]}}`
}

/** Changed and removed stations since `from`; null when nothing but `ts` changed. */
function deltaText(from: Frame, to: Frame): string | null {
  if (to.deltaFrom?.from === from) return to.deltaFrom.text
  const changed: string[] = []
  for (const [key, json] of to.stations) if (from.stations.get(key) !== json) changed.push(json)
  const removed: string[] = []
  for (const key of from.stations.keys()) {
    if (!to.stations.has(key)) {
      const [site, station] = key.split('/')
      removed.push(JSON.stringify({ site, station }))
    }
  }
  const text =
    changed.length === 0 && removed.length === 0 && from.head === to.head
      ? null
      : `{"type":"delta","data":{"ts":${to.ts},${to.head},"stations":[${changed.join(',')}],"removed":[${removed.join(',')}]}}`
  to.deltaFrom = { from, text }
  return text
}
