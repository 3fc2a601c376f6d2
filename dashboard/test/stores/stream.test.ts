import { describe, expect, test } from 'vitest'
import type { LiveStation } from '@evmon/contracts'
import {
  applyDelta,
  isSnapshotLike,
  liveSocketUrl,
  parseStreamMessage,
  RECONNECT,
  reconnectDelayMs,
  type LiveState,
} from '../../src/stores/stream.ts'

const snapshot = { ts: 1_742_869_800_000, site_power_w: 0, stations: [] }

describe('parseStreamMessage', () => {
  test('returns a snapshot frame with empty site totals when the API sends none', () => {
    expect(parseStreamMessage(JSON.stringify({ type: 'snapshot', data: snapshot }))).toEqual({
      type: 'snapshot',
      data: { ...snapshot, sites: [] },
    })
  })

  test('returns a delta frame with its removed stations', () => {
    const delta = { ...snapshot, sites: [], removed: [{ site: 'beibei', station: 'kc-ac' }] }
    expect(parseStreamMessage(JSON.stringify({ type: 'delta', data: delta }))).toEqual({
      type: 'delta',
      data: delta,
    })
  })

  test('skips frames it does not understand instead of throwing', () => {
    expect(parseStreamMessage('not json')).toBeNull()
    expect(parseStreamMessage('null')).toBeNull()
    expect(parseStreamMessage('[1,2]')).toBeNull()
    expect(parseStreamMessage(JSON.stringify({ type: 'event', data: snapshot }))).toBeNull()
    expect(parseStreamMessage(JSON.stringify({ type: 'snapshot', data: { ts: 'now' } }))).toBeNull()
    expect(parseStreamMessage(JSON.stringify({ type: 'delta', data: snapshot }))).toBeNull()
    expect(parseStreamMessage(new ArrayBuffer(4))).toBeNull()
  })
})

describe('isSnapshotLike', () => {
  test('accepts what the dashboard relies on and rejects the rest', () => {
    expect(isSnapshotLike(snapshot)).toBe(true)
    expect(isSnapshotLike({ ...snapshot, stations: null })).toBe(false)
    expect(isSnapshotLike({ error: 'Service Unavailable' })).toBe(false)
    expect(isSnapshotLike(undefined)).toBe(false)
  })
})

describe('applyDelta', () => {
  const station = (id: string, grid_power_w: number): LiveStation => ({
    site: 'beibei',
    station: id,
    name: null,
    cooling: null,
    cabinet_max_power_w: null,
    online: true,
    stale: false,
    last_ts: 1,
    grid_power_w,
    aux_power_w: 0,
    ocpp_identity: null,
    connectors: [],
  })
  const current: LiveState = {
    ts: 1,
    site_power_w: 3,
    sites: [],
    stations: [station('a', 1), station('b', 1), station('c', 1)],
  }

  test('replaces changed stations in place, appends new ones and drops removed ones', () => {
    const next = applyDelta(current, {
      ts: 2,
      site_power_w: 9,
      sites: [],
      stations: [station('d', 4), station('b', 5)],
      removed: [{ site: 'beibei', station: 'a' }],
    })
    expect(next.ts).toBe(2)
    expect(next.site_power_w).toBe(9)
    expect(next.stations.map((s) => [s.station, s.grid_power_w])).toEqual([
      ['b', 5],
      ['c', 1],
      ['d', 4],
    ])
  })
})

describe('reconnectDelayMs', () => {
  const noJitter = () => 0

  test('doubles from the first delay up to the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 6, 10, 100].map((n) => reconnectDelayMs(n, noJitter))
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000, 15_000])
  })

  test('jitter shortens the delay by at most half', () => {
    expect(reconnectDelayMs(3, () => 0.999_999)).toBe(2000)
    expect(reconnectDelayMs(100, () => 0.5)).toBe(RECONNECT.maxDelayMs * 0.75)
  })
})

describe('liveSocketUrl', () => {
  test('follows the page protocol and host', () => {
    expect(liveSocketUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe(
      'ws://127.0.0.1:8080/api/v1/live/ws',
    )
    expect(liveSocketUrl({ protocol: 'https:', host: 'evmon.example' })).toBe(
      'wss://evmon.example/api/v1/live/ws',
    )
  })

  test('carries a token as a query parameter, since a browser WebSocket cannot send headers', () => {
    expect(liveSocketUrl({ protocol: 'http:', host: 'h' }, 'a b')).toBe(
      'ws://h/api/v1/live/ws?access_token=a%20b',
    )
  })
})
