import { describe, expect, test } from 'vitest'
import { isSnapshotLike, liveSocketUrl, parseStreamMessage, RECONNECT, reconnectDelayMs } from './stream.ts'

const snapshot = { ts: 1_742_869_800_000, site_power_w: 0, stations: [] }

describe('parseStreamMessage', () => {
  test('returns the snapshot of a snapshot frame', () => {
    expect(parseStreamMessage(JSON.stringify({ type: 'snapshot', data: snapshot }))).toEqual(snapshot)
  })

  test('skips frames it does not understand instead of throwing', () => {
    expect(parseStreamMessage('not json')).toBeNull()
    expect(parseStreamMessage('null')).toBeNull()
    expect(parseStreamMessage('[1,2]')).toBeNull()
    expect(parseStreamMessage(JSON.stringify({ type: 'event', data: snapshot }))).toBeNull()
    expect(parseStreamMessage(JSON.stringify({ type: 'snapshot', data: { ts: 'now' } }))).toBeNull()
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
})
