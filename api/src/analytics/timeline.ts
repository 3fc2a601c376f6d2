import {
  CHARGING_STATUS,
  isDown,
  isOccupied,
  type ConnectorStatus,
  type ExcludedWindow,
} from '@evmon/contracts'
import { localParts } from '@evmon/contracts/site'
import type { Group } from '../influx/scope.ts'

// Time-weighted connector states: what occupancy, time utilisation and uptime are computed from. A
// connector's state is its last status event and its station's last online event; both are carried
// across the window's start, so an outage that began before the window counts, and nothing depends on
// how often a station samples.

export interface StatusChange {
  t: number
  status: ConnectorStatus
}

export interface OnlineChange {
  t: number
  online: boolean
}

/** What is known about one connector around a window. */
export interface ConnectorHistory {
  /** Its last status event before the window, if any. */
  before: ConnectorStatus | null
  /** Status events inside the window. */
  changes: readonly StatusChange[]
  /** Its first telemetry sample in the window: the state to start from when no event came before. */
  firstSample: StatusChange | null
}

/** What is known about one station's link around a window. */
export interface StationHistory {
  /** Its last online event before the window; null: never heard of (taken as online). */
  before: boolean | null
  changes: readonly OnlineChange[]
}

/** Connector time by state within one bucket, ms. */
export interface StateTime {
  periodMs: number
  occupiedMs: number
  chargingMs: number
  outageMs: number
  /** Outage inside excluded windows. */
  excludedMs: number
}

export const zeroStateTime = (): StateTime => ({
  periodMs: 0,
  occupiedMs: 0,
  chargingMs: 0,
  outageMs: 0,
  excludedMs: 0,
})

export function addStateTime(into: StateTime, add: StateTime): void {
  into.periodMs += add.periodMs
  into.occupiedMs += add.occupiedMs
  into.chargingMs += add.chargingMs
  into.outageMs += add.outageMs
  into.excludedMs += add.excludedMs
}

/** A bucket of the request: [from, to) and its label (null for the whole window). */
export interface Bucket {
  from: number
  to: number
  label: string | null
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** Start of the local hour (group=hour) or local day (group=day) holding `t`. */
function floorLocal(t: number, group: 'day' | 'hour', tz: string): number {
  const p = localParts(t, tz)
  const intoHour = t - Math.floor(t / 60_000) * 60_000 + p.minute * 60_000
  return group === 'hour' ? t - intoHour : t - intoHour - p.hour * 3_600_000
}

/**
 * The buckets of [fromMs, toMs): one for group=none, else local days or local hours (labelled like the
 * InfluxDB rows: `YYYY-MM-DD` or the hour of day `00`–`23`, so hours of different days share a label).
 */
export function buckets(group: Group, fromMs: number, toMs: number, tz: string): Bucket[] {
  if (group === 'none') return [{ from: fromMs, to: toMs, label: null }]
  const out: Bucket[] = []
  // Stepping past the next boundary and flooring lands on it whatever the day's length (DST).
  const step = group === 'hour' ? 5_400_000 : 27 * 3_600_000
  for (let start = floorLocal(fromMs, group, tz); start < toMs;) {
    const next = floorLocal(start + step, group, tz)
    const p = localParts(start, tz)
    const label = group === 'day' ? `${p.year}-${pad(p.month)}-${pad(p.day)}` : pad(p.hour)
    out.push({ from: Math.max(start, fromMs), to: Math.min(next, toMs), label })
    start = next
  }
  return out
}

/** Merges windows into sorted, disjoint [from, to) intervals. */
export function mergeWindows(windows: readonly ExcludedWindow[]): Array<[number, number]> {
  const sorted = windows.map((w): [number, number] => [w.from, w.to]).sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const [a, b] of sorted) {
    const last = out.at(-1)
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b)
    else if (b > a) out.push([a, b])
  }
  return out
}

const overlap = (a: number, b: number, c: number, d: number): number =>
  Math.max(0, Math.min(b, d) - Math.max(a, c))

/**
 * One connector's time by state in each bucket of [fromMs, endMs). Counting starts at the window's
 * start when the connector's state before it is known, else at its first event or sample in the window
 * (before that it may not have existed). Offline, Faulted, Unavailable and SuspendedEVSE are outage.
 */
export function connectorStateTime(
  connector: ConnectorHistory,
  station: StationHistory,
  fromMs: number,
  endMs: number,
  bucketList: readonly Bucket[],
  excluded: ReadonlyArray<[number, number]>,
): StateTime[] {
  const out = bucketList.map(zeroStateTime)
  let status = connector.before
  let start = fromMs
  if (status === null) {
    const first = [connector.changes[0], connector.firstSample]
      .filter((c): c is StatusChange => c !== undefined && c !== null)
      .sort((a, b) => a.t - b.t)[0]
    if (first === undefined) return out
    status = first.status
    start = Math.max(fromMs, first.t)
  }
  let online = station.before ?? true
  // Both kinds of change in time order; a status change at the same time as an online change applies too.
  const changes = [
    ...connector.changes.map((c) => ({ t: c.t, status: c.status as ConnectorStatus | null, online: null })),
    ...station.changes.map((c) => ({ t: c.t, status: null, online: c.online as boolean | null })),
  ].sort((a, b) => a.t - b.t)
  let t = start
  const add = (until: number) => {
    const a = Math.max(t, fromMs)
    const b = Math.min(until, endMs)
    if (b <= a || status === null) return
    const down = !online || isDown(status)
    bucketList.forEach((bucket, i) => {
      const ms = overlap(a, b, bucket.from, bucket.to)
      if (ms === 0) return
      const acc = out[i] as StateTime
      acc.periodMs += ms
      if (isOccupied(status as ConnectorStatus)) acc.occupiedMs += ms
      if (status === CHARGING_STATUS) acc.chargingMs += ms
      if (down) {
        acc.outageMs += ms
        for (const [c, d] of excluded)
          acc.excludedMs += overlap(Math.max(a, bucket.from), Math.min(b, bucket.to), c, d)
      }
    })
  }
  for (const change of changes) {
    if (change.t > t) {
      add(change.t)
      t = change.t
    }
    if (change.status !== null && change.t >= start) status = change.status
    if (change.online !== null) online = change.online
  }
  add(endMs)
  return out
}
