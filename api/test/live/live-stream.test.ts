import { LiveFrame } from '@evmon/contracts'
import { Value } from '@sinclair/typebox/value'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { connectorSample, decoded, stationMeta, telemetry } from '../fixtures.ts'
import { LiveState } from '../../src/live/live-state.ts'
import { createLiveViews, type LiveViews } from '../../src/live/live-view.ts'
import { LiveStream, type StreamSocket } from '../../src/live/live-stream.ts'

const T0 = 1_742_869_800_000 // a multiple of the period: T0 starts a period
const PERIOD_MS = 500

class FakeSocket implements StreamSocket {
  readyState = 1
  bufferedAmount = 0
  readonly frames: LiveFrame[] = []
  readonly sent: Buffer[] = []
  send(data: Buffer, options: { binary: false }): void {
    expect(options.binary).toBe(false) // JSON text frames, as the dashboard reads them
    this.sent.push(data)
    this.frames.push(JSON.parse(data.toString('utf8')) as LiveFrame)
  }
}

describe('live stream', () => {
  let now: number
  let state: LiveState
  let stream: LiveStream
  let views: LiveViews

  const publishTelemetry = (station: string, powerW: number): void => {
    state.apply(
      decoded('beibei', station, 'telemetry', telemetry(now, 1, [connectorSample(1, powerW)]), now),
      now,
    )
  }

  beforeEach(() => {
    vi.useFakeTimers()
    now = T0
    state = new LiveState(3_000)
    state.apply(decoded('beibei', 'zn-super', 'meta', stationMeta('Zhongnan'), now), now)
    state.apply(decoded('beibei', 'kc-fast-1', 'meta', stationMeta('Fast 1'), now), now)
    views = createLiveViews(
      state,
      () => now,
      () => 1_187_500,
      PERIOD_MS,
    )
    stream = new LiveStream({
      periodMs: PERIOD_MS,
      clock: () => now,
      frame: (filter) => views.frame(filter),
      changeKey: () => `${state.version}:${state.staleCount(now)}`,
    })
  })

  afterEach(() => {
    stream.close()
    vi.useRealTimers()
  })

  const advance = (ms: number): void => {
    now += ms
    vi.advanceTimersByTime(ms)
  }

  test('a new client gets a snapshot frame matching the contract at once', () => {
    const socket = new FakeSocket()
    stream.add(socket, {})
    expect(socket.frames).toHaveLength(1)
    expect(Value.Errors(LiveFrame, socket.frames[0]).First()).toBeUndefined()
    expect(socket.frames[0]?.data.stations.map((s) => s.station)).toEqual(['kc-fast-1', 'zn-super'])
  })

  test('nothing is sent while nothing changes', () => {
    const socket = new FakeSocket()
    stream.add(socket, {})
    advance(5 * PERIOD_MS)
    expect(socket.frames).toHaveLength(1)
  })

  test('a delta carries only the stations that changed, and stations that disappeared', () => {
    const socket = new FakeSocket()
    stream.add(socket, {})
    publishTelemetry('zn-super', 100_000)
    advance(PERIOD_MS)
    expect(socket.frames[1]).toMatchObject({ type: 'delta', data: { removed: [] } })
    expect(Value.Errors(LiveFrame, socket.frames[1]).First()).toBeUndefined()
    expect(socket.frames[1]?.data.stations.map((s) => s.station)).toEqual(['zn-super'])
    expect(socket.frames[1]?.data.sites[0]).toMatchObject({ site: 'beibei', grid_limit_w: 1_187_500 })
    state.forget('beibei', 'kc-fast-1')
    advance(PERIOD_MS)
    expect(socket.frames[2]).toMatchObject({
      type: 'delta',
      data: { stations: [], removed: [{ site: 'beibei', station: 'kc-fast-1' }] },
    })
  })

  test('many changes within one interval become one frame carrying the latest values', () => {
    const socket = new FakeSocket()
    stream.add(socket, {})
    publishTelemetry('zn-super', 100_000)
    publishTelemetry('zn-super', 200_000)
    publishTelemetry('zn-super', 300_000)
    advance(PERIOD_MS)
    expect(socket.frames).toHaveLength(2)
    const station = socket.frames[1]?.data.stations.find((s) => s.station === 'zn-super')
    expect(station?.connectors[0]?.power_w).toBe(300_000)
  })

  test('a station turning stale is a change even without messages', () => {
    publishTelemetry('zn-super', 100_000)
    const socket = new FakeSocket()
    stream.add(socket, { station: 'zn-super' })
    expect(socket.frames[0]?.data.stations[0]?.stale).toBe(false)
    advance(3_000 + PERIOD_MS)
    expect(socket.frames.map((f) => f.data.stations[0]?.stale)).toEqual([false, true])
  })

  test('a client filtered to one station is not sent changes of another', () => {
    const filtered = new FakeSocket()
    const everything = new FakeSocket()
    stream.add(filtered, { station: 'zn-super' })
    stream.add(everything, {})
    publishTelemetry('kc-fast-1', 50_000)
    advance(PERIOD_MS)
    expect(filtered.frames).toHaveLength(1)
    expect(everything.frames).toHaveLength(2)
    expect(filtered.frames[0]?.data.stations.map((s) => s.station)).toEqual(['zn-super'])
  })

  test('a slow client is skipped until it drains, then gets the latest state', () => {
    const socket = new FakeSocket()
    stream.add(socket, {})
    socket.bufferedAmount = 64 * 1024 * 1024
    publishTelemetry('zn-super', 100_000)
    advance(PERIOD_MS)
    expect(socket.frames).toHaveLength(1)
    socket.bufferedAmount = 0
    advance(PERIOD_MS)
    expect(socket.frames).toHaveLength(2)
    expect(
      socket.frames[1]?.data.stations.find((s) => s.station === 'zn-super')?.connectors[0]?.power_w,
    ).toBe(100_000)
  })

  test('a removed client gets nothing more and the count drops', () => {
    const socket = new FakeSocket()
    const remove = stream.add(socket, {})
    expect(stream.size).toBe(1)
    remove()
    expect(stream.size).toBe(0)
    publishTelemetry('zn-super', 100_000)
    advance(PERIOD_MS)
    expect(socket.frames).toHaveLength(1)
  })

  test('clients of one filter get the same bytes: one build and one delta per period for all of them', () => {
    const snapshots = vi.spyOn(state, 'snapshot')
    const site = Array.from({ length: 1_000 }, () => new FakeSocket())
    for (const socket of site) stream.add(socket, { site: 'beibei' })
    expect(snapshots).toHaveBeenCalledTimes(1)
    expect(new Set(site.map((socket) => socket.sent[0])).size).toBe(1)
    for (let period = 1; period <= 3; period++) {
      // Many messages per period, as from a fast feed: still one build and one delta per period.
      for (let i = 0; i < 50; i++)
        publishTelemetry(i % 2 === 0 ? 'zn-super' : 'kc-fast-1', period * 1_000 + i)
      advance(PERIOD_MS)
      expect(snapshots).toHaveBeenCalledTimes(1 + period)
      const deltas = new Set(site.map((socket) => socket.sent[period]))
      expect(deltas.size).toBe(1)
      const [delta] = [...deltas]
      expect(JSON.parse(String(delta))).toMatchObject({ type: 'delta', data: { ts: now } })
      // GET /live in the same period answers from the same build.
      expect(JSON.parse(views.json({ site: 'beibei' }).toString('utf8'))).toEqual({
        ...(JSON.parse(String(delta)) as LiveFrame).data,
        removed: undefined,
      })
    }
    expect(snapshots).toHaveBeenCalledTimes(4)
  })

  test('frames go out as each period begins, so an update waits at most one period', () => {
    now = T0 + 100
    const socket = new FakeSocket()
    const sentAt: number[] = []
    const send = socket.send.bind(socket)
    socket.send = (data, options) => {
      sentAt.push(now)
      send(data, options)
    }
    stream.add(socket, {})
    publishTelemetry('zn-super', 100_000) // at T0 + 100
    for (let i = 0; i < 9; i++) advance(100)
    expect(sentAt).toEqual([T0 + 100, T0 + PERIOD_MS])
    // Just after the tick of T0 + 1000: the longest wait, one period.
    publishTelemetry('zn-super', 200_000)
    advance(100)
    publishTelemetry('zn-super', 300_000) // at T0 + 1100
    for (let i = 0; i < 3; i++) advance(100)
    expect(sentAt).toEqual([T0 + 100, T0 + PERIOD_MS])
    advance(100)
    expect(sentAt).toEqual([T0 + 100, T0 + PERIOD_MS, T0 + 3 * PERIOD_MS])
    expect(socket.frames.at(-1)?.data.stations[0]?.connectors[0]?.power_w).toBe(300_000)
  })
})
