import { Value } from '@sinclair/typebox/value'
import { ReplayControl, type TimedMessage } from '@evmon/contracts'
import type { StreamSocket } from '../live/live-stream.ts'

/** Longest pause between two frames: a gap in the data should not leave a client waiting for hours. */
const MAX_WAIT_MS = 2_000

export interface ReplayOptions {
  fromMs: number
  toMs: number
  speed: number
  read: (fromMs: number, toMs: number) => AsyncIterable<TimedMessage>
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer)
        resolve()
      },
      { once: true },
    )
  })

/**
 * Plays stored messages to one socket at `speed`× real time, and obeys `pause`, `resume`, `seek` and
 * `speed` from the client. A seek or close aborts the current read; everything else waits its turn.
 */
export class ReplaySession {
  private playing = true
  private speed: number
  private position: number
  private wake = new AbortController()
  private generation = 0
  private closed = false

  constructor(
    private readonly socket: StreamSocket,
    private readonly options: ReplayOptions,
  ) {
    this.speed = options.speed
    this.position = options.fromMs
  }

  /** Handles one client frame; anything that is not a valid control message gets an error frame. */
  control(text: string): void {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (!Value.Check(ReplayControl, parsed)) {
      this.send({ type: 'error', message: 'expected {"type":"pause"|"resume"|"seek","to"|"speed","speed"}' })
      return
    }
    const c = parsed as ReplayControl
    if (c.type === 'pause') this.playing = false
    if (c.type === 'resume') this.playing = true
    if (c.type === 'speed') this.speed = c.speed
    if (c.type === 'seek') {
      this.position = Math.min(Math.max(c.to, this.options.fromMs), this.options.toMs)
      this.generation++
    }
    this.wake.abort()
    this.wake = new AbortController()
    this.sendState()
  }

  close(): void {
    this.closed = true
    this.wake.abort()
  }

  /** Plays from the current position to the end, restarting after each seek. */
  async run(): Promise<void> {
    this.sendState()
    while (!this.closed) {
      const generation = this.generation
      let lastT: number | null = null
      let ended = true
      for await (const { t, message } of this.options.read(this.position, this.options.toMs)) {
        while (!this.playing && !this.closed && generation === this.generation)
          await sleep(60_000, this.wake.signal)
        if (this.closed || generation !== this.generation) {
          ended = false
          break
        }
        if (lastT !== null && t > lastT)
          await sleep(Math.min(MAX_WAIT_MS, (t - lastT) / this.speed), this.wake.signal)
        if (this.closed || generation !== this.generation) {
          ended = false
          break
        }
        lastT = t
        this.position = t
        this.send({ type: 'message', t, data: message })
      }
      if (ended && !this.closed) {
        this.send({ type: 'end' })
        // Stay open: the client may seek back.
        while (!this.closed && generation === this.generation) await sleep(60_000, this.wake.signal)
      }
    }
  }

  private sendState(): void {
    this.send({
      type: 'state',
      playing: this.playing,
      speed: this.speed,
      position: this.position,
      from: this.options.fromMs,
      to: this.options.toMs,
    })
  }

  private send(frame: unknown): void {
    if (this.socket.readyState === 1) this.socket.send(Buffer.from(JSON.stringify(frame)), { binary: false })
  }
}
