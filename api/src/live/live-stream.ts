import type { LiveSnapshot } from '@evmon/contracts'
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
  snapshot: (filter: LiveFilter) => LiveSnapshot
  /** Changes whenever a snapshot may have changed; equal keys let a period pass without any work. */
  changeKey: () => string
  /** A client with more than this still unsent is skipped until it catches up. */
  maxBufferedBytes?: number
}

interface Client {
  socket: StreamSocket
  filter: LiveFilter
  filterKey: string
  /** Serialised stations last sent: a new snapshot goes out only when they differ. */
  lastContent: string | null
}

interface Frame {
  content: string
  text: string
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
      lastContent: null,
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
      if (frame.content === client.lastContent) continue
      // A skipped client must still get the latest state, even if nothing changes after this tick.
      if (!this.send(client, frame)) this.lastKey = null
    }
  }

  private send(client: Client, frame: Frame): boolean {
    const { socket } = client
    if (socket.readyState !== OPEN) return true
    if (socket.bufferedAmount > (this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES)) return false
    socket.send(frame.text)
    client.lastContent = frame.content
    return true
  }

  // The stations are serialised once and used both to detect a change and as the body of the frame;
  // `ts` alone changing is not a change worth a frame.
  private frame(filter: LiveFilter): Frame {
    const snapshot = this.options.snapshot(filter)
    const content = JSON.stringify(snapshot.stations)
    const text = `{"type":"snapshot","data":{"ts":${snapshot.ts},"site_power_w":${JSON.stringify(snapshot.site_power_w)},"stations":${content}}}`
    return { content, text }
  }
}
