import { ref, shallowRef, type Ref, type ShallowRef } from 'vue'
import { getJson } from '../http/client.ts'
import { siteId } from './site.ts'
import { authHeaders, token } from './auth.ts'
import {
  appendSnapshot,
  EMPTY_HISTORY,
  isNewerSnapshot,
  isSiteLoadLike,
  loadToPoints,
  markGap,
  mergeBackfill,
  type History,
} from './history.ts'
import {
  applyDelta,
  isSnapshotLike,
  liveSocketUrl,
  parseStreamMessage,
  reconnectDelayMs,
  toLiveState,
  type LiveState,
} from './stream.ts'

// The dashboard's one source of live data. The WebSocket is the normal path; while it is down the
// store polls the REST endpoint so the screen keeps moving, and stops polling as soon as the socket
// delivers again.

/**
 * - `connecting`: no source has answered since the last start or disconnect
 * - `live`: snapshots arrive on the WebSocket
 * - `polling`: the WebSocket is down, `GET /api/v1/live` answers
 * - `offline`: neither answers; what is shown is the last data received
 */
export type ConnectionState = 'connecting' | 'live' | 'polling' | 'offline'

export interface LiveStore {
  /** The latest view, replaced (never mutated) on each update. */
  readonly snapshot: Readonly<ShallowRef<LiveState | null>>
  /**
   * Site and station power over the last hour: the stored load (one point per bucket) until the
   * stream started, then one point per snapshot second.
   */
  readonly history: Readonly<ShallowRef<History>>
  readonly connection: Readonly<Ref<ConnectionState>>
  /** Opens the stream; calling it again while running does nothing. */
  start(): void
  /** Closes the stream and stops every timer; the data received so far stays. */
  stop(): void
}

const LIVE_URL = '/api/v1/live'
const POLL_INTERVAL_MS = 2_000 // half the WebSocket's rate is smooth enough for a fallback
const POLL_TIMEOUT_MS = 5_000 // a hung request must not hold up the next poll
const CARRY_FORWARD_MS = 1_000 // the chart's resolution: one point per second

const snapshot = shallowRef<LiveState | null>(null)
const history = shallowRef<History>(EMPTY_HISTORY)
const connection = ref<ConnectionState>('connecting')

let running = false
let socket: WebSocket | null = null
let reconnectAttempt = 0
let reconnectTimer: ReturnType<typeof setTimeout> | undefined
let carryTimer: ReturnType<typeof setInterval> | undefined
/** Server clock minus browser clock, from the latest snapshot. */
let serverOffsetMs = 0
// One polling run lasts from a disconnect to the next delivered WebSocket frame. A response that
// comes back after its run ended finds another run (or none) in `pollRun` and is dropped.
interface PollRun {
  request: AbortController | null
  timer: ReturnType<typeof setTimeout> | undefined
}
let pollRun: PollRun | null = null
let backfillRequest: AbortController | null = null

function accept(next: LiveState): void {
  if (!isNewerSnapshot(snapshot.value, next)) return
  snapshot.value = next
  serverOffsetMs = next.ts - Date.now()
  history.value = appendSnapshot(history.value, next)
}

// The API sends a frame only when something changed. While the socket is open an unchanged site is
// still a fact, so the latest snapshot is carried forward each second, at the server's time: the
// chart keeps moving and only a real outage leaves a gap.
function carryForward(): void {
  if (connection.value !== 'live' || snapshot.value === null) return
  history.value = appendSnapshot(history.value, { ...snapshot.value, ts: Date.now() + serverOffsetMs })
}

function connect(): void {
  const ws = new WebSocket(liveSocketUrl(window.location, token.value))
  socket = ws
  ws.addEventListener('message', (event) => {
    const frame = parseStreamMessage(event.data)
    if (frame === null) return
    // A delta means nothing without the view it changes; the API sends a snapshot first.
    if (frame.type === 'delta' && snapshot.value === null) return
    const next = frame.type === 'snapshot' ? frame.data : applyDelta(snapshot.value!, frame.data)
    if (connection.value !== 'live') {
      // Only a delivered snapshot proves the stream works; an API that accepts and then drops the
      // socket at once must keep backing off.
      connection.value = 'live'
      reconnectAttempt = 0
      stopPolling()
    }
    accept(next)
  })
  // 'error' is always followed by 'close', so close alone drives the recovery.
  ws.addEventListener('close', () => {
    if (socket !== ws) return
    socket = null
    if (!running) return
    if (connection.value === 'live') {
      connection.value = 'connecting'
      // Frames come only on change, so silence was trusted as "unchanged" while the socket was
      // open; from its close until the next answer nothing is known.
      history.value = markGap(history.value)
    }
    startPolling()
    reconnectTimer = setTimeout(connect, reconnectDelayMs(reconnectAttempt++))
  })
}

function startPolling(): void {
  if (pollRun !== null) return
  const run: PollRun = { request: null, timer: undefined }
  pollRun = run
  void poll(run)
}

function stopPolling(): void {
  if (pollRun === null) return
  pollRun.request?.abort()
  clearTimeout(pollRun.timer)
  pollRun = null
}

async function poll(run: PollRun): Promise<void> {
  const request = new AbortController()
  run.request = request
  const timeout = setTimeout(() => request.abort(), POLL_TIMEOUT_MS)
  let next: LiveState | null = null
  try {
    const response = await fetch(LIVE_URL, {
      signal: request.signal,
      cache: 'no-store',
      headers: { accept: 'application/json', ...authHeaders() },
    })
    const body: unknown = response.ok ? await response.json() : null
    next = isSnapshotLike(body) ? toLiveState(body) : null
  } catch {
    // Network failure, timeout or bad JSON: all mean "no data", shown as offline below.
  } finally {
    clearTimeout(timeout)
    run.request = null
  }
  if (pollRun !== run) return
  if (next === null) {
    connection.value = 'offline'
    history.value = markGap(history.value)
  } else {
    connection.value = 'polling'
    accept(next)
  }
  run.timer = setTimeout(() => void poll(run), POLL_INTERVAL_MS)
}

// The stream only knows the present; the API's stored site load (its default window: the last hour)
// fills the chart behind it, wherever the stream has no points of its own.
async function backfill(): Promise<void> {
  const request = new AbortController()
  backfillRequest = request
  try {
    const load: unknown = await getJson(
      `/api/v1/sites/${encodeURIComponent(siteId.value)}/load`,
      {},
      request.signal,
    )
    if (backfillRequest === request && isSiteLoadLike(load)) {
      history.value = mergeBackfill(history.value, loadToPoints(load))
    }
  } catch {
    // No stored history (API or InfluxDB down, aborted): the chart fills from the stream alone.
  } finally {
    if (backfillRequest === request) backfillRequest = null
  }
}

function start(): void {
  if (running) return
  running = true
  connection.value = 'connecting'
  reconnectAttempt = 0
  connect()
  void backfill()
  carryTimer = setInterval(carryForward, CARRY_FORWARD_MS)
}

function stop(): void {
  running = false
  clearTimeout(reconnectTimer)
  clearInterval(carryTimer)
  stopPolling()
  backfillRequest?.abort()
  backfillRequest = null
  socket?.close()
  socket = null
  // Nothing is known from here until the next start; the backfill then fills what it can.
  history.value = markGap(history.value)
}

const store: LiveStore = { snapshot, history, connection, start, stop }

/** The live store, shared by every component of the page. */
export function useLiveStore(): LiveStore {
  return store
}
