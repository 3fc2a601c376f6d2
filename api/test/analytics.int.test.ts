import { createHash, randomBytes } from 'node:crypto'
import {
  continuousQuery,
  decodeMessage,
  messageToPoints,
  toLine,
  type EfficiencyResponse,
  type ReplayFrame,
  type SessionDetail,
  type SessionsResponse,
  type UtilisationResponse,
} from '@evmon/contracts'
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest'
import WebSocket from 'ws'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import type { MessageFeed } from '../src/live/mqtt-feed.ts'
import { parsed, simulatedDay, writeDay } from './simulated-day.ts'

// A known simulated day (seeded dry run) written through the contract's decoder and line-protocol
// mapping, then every figure the API reports is recomputed here straight from the same messages.

const influxUrl = inject('influxUrl')
const database = `api_day_${randomBytes(4).toString('hex')}`
const OPERATOR = 'op-token-analytics'
const ENGINEER = 'eng-token-analytics'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')
// Local midnight in Chongqing two days ago: inside raw retention, and a whole local day.
const DAY_MS = 86_400_000
const START = Math.floor((Date.now() + 8 * 3_600_000) / DAY_MS) * DAY_MS - 8 * 3_600_000 - 2 * DAY_MS
const END = START + DAY_MS
const OCCUPIED = new Set(['Preparing', 'Charging', 'SuspendedEVSE', 'SuspendedEV', 'Finishing'])

const silentFeed: MessageFeed = { start() {}, connected: () => false, close: async () => {} }
let api: ApiHandle
let lines: string[]
let day: ReturnType<typeof parsed>

async function influxQuery(q: string): Promise<void> {
  const response = await fetch(`${influxUrl}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q, db: database }),
  })
  const text = await response.text()
  if (!response.ok || text.includes('"error"')) throw new Error(`InfluxDB: ${text}`)
}

async function get<T>(path: string, token = OPERATOR): Promise<{ status: number; body: T }> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } })
  return { status: response.status, body: (await response.json()) as T }
}

beforeAll(async () => {
  lines = simulatedDay(START)
  day = parsed(lines)
  await influxQuery(`CREATE DATABASE "${database}"`)
  await writeDay(influxUrl, database, lines)
  api = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `operator:${sha(OPERATOR)},engineer:${sha(ENGINEER)}`,
    }),
    { feed: silentFeed },
  )
}, 120_000)

afterAll(async () => {
  await api?.close()
  await influxQuery(`DROP DATABASE "${database}"`).catch(() => {})
})

const range = `from=${START}&to=${END}`

/** Per connector, straight from the telemetry messages. */
function expectedConnectors() {
  const out = new Map<
    string,
    {
      n: number
      occ: number
      inService: number
      e0: number
      e1: number
      speedSum: number
      speedN: number
      max: number
    }
  >()
  for (const { station, t } of day.telemetry) {
    if (t.ts < START || t.ts >= END) continue
    for (const c of t.connectors) {
      const key = `${station}/${c.id}`
      const e = out.get(key) ?? {
        n: 0,
        occ: 0,
        inService: 0,
        e0: c.energy_wh!,
        e1: c.energy_wh!,
        speedSum: 0,
        speedN: 0,
        max: 0,
      }
      e.n++
      if (OCCUPIED.has(c.status)) e.occ++
      if (c.status !== 'Faulted' && c.status !== 'Unavailable') e.inService++
      e.e1 = c.energy_wh!
      if (c.power_w! > 0 && c.soc_pct !== undefined && c.soc_pct >= 10 && c.soc_pct <= 80) {
        e.speedSum += c.power_w!
        e.speedN++
      }
      out.set(key, e)
    }
  }
  return out
}

/**
 * Per station, the time it was offline within [START, END), from its `online` messages: a connection
 * lost (a last will, which has no time of its own) begins when the last telemetry before it was
 * sampled, and lasts until the station's `online: true`.
 */
function offlineMs(): Map<string, { ms: number; episodes: number }> {
  const out = new Map<string, { ms: number; episodes: number }>()
  const lastSample = new Map<string, number>()
  const lostAt = new Map<string, number>()
  for (const line of lines) {
    const { topic, payload } = JSON.parse(line) as {
      topic: string
      payload: { ts?: number; online?: boolean }
    }
    const [, , , station = '', kind] = topic.split('/')
    if (kind === 'telemetry' && payload.ts !== undefined) lastSample.set(station, payload.ts)
    if (kind !== 'online') continue
    const at = payload.ts ?? lastSample.get(station) ?? START
    if (payload.online === false) lostAt.set(station, at)
    else if (lostAt.has(station)) {
      const from = Math.max(START, lostAt.get(station) ?? START)
      const until = Math.min(END, at)
      const entry = out.get(station) ?? { ms: 0, episodes: 0 }
      if (until > from) out.set(station, { ms: entry.ms + until - from, episodes: entry.episodes + 1 })
      lostAt.delete(station)
    }
  }
  return out
}

describe('analytics over a simulated day', () => {
  test('utilisation per connector equals occupancy, availability, energy and sessions from the messages', async () => {
    const { status, body } = await get<UtilisationResponse>(
      `/api/v1/metrics/utilisation?site=beibei&${range}`,
    )
    expect(status).toBe(200)
    expect(body.resolution).toBe('raw')
    const expected = expectedConnectors()
    const offline = offlineMs()
    // The seeded day has offline episodes (the site's faults.offline), or this test would show nothing.
    expect([...offline.values()].reduce((n, o) => n + o.episodes, 0)).toBeGreaterThan(0)
    const connectors = body.rows.filter((r) => r.level === 'connector')
    expect(connectors).toHaveLength(expected.size)
    let availableMs = 0
    for (const row of connectors) {
      const e = expected.get(`${row.station}/${row.connector}`)
      if (e === undefined) throw new Error(`unexpected connector ${row.station}/${row.connector}`)
      expect(row.occupancy).toBeCloseTo(e.occ / e.n, 9)
      // Availability by time: the day less the station's offline time and the 1 s samples spent
      // Faulted or Unavailable. Offline episodes are timed from their messages, which place their
      // edges within a sample period: one second per edge is the tolerance.
      const off = offline.get(row.station ?? '') ?? { ms: 0, episodes: 0 }
      const unavailableMs = off.ms + (e.n - e.inService) * 1000
      expect(Math.abs((row.availability ?? -1) - (1 - unavailableMs / DAY_MS))).toBeLessThanOrEqual(
        (2 * off.episodes * 1000 + 1000) / DAY_MS,
      )
      if (off.ms > 0) expect(row.availability).toBeLessThan(e.inService / e.n)
      availableMs += DAY_MS - unavailableMs
      expect(row.energy_wh).toBeCloseTo(e.e1 - e.e0, 3)
      const started = day.sessions.filter(
        (s) =>
          s.station === row.station &&
          s.s.connector === row.connector &&
          s.s.event === 'started' &&
          s.s.ts >= START &&
          s.s.ts < END,
      )
      expect(row.sessions).toBe(started.length)
    }
    const site = body.rows.find((r) => r.level === 'site')
    expect(site?.availability).toBeCloseTo(availableMs / (connectors.length * DAY_MS), 3)
    const totalEnergy = [...expected.values()].reduce((s, e) => s + e.e1 - e.e0, 0)
    expect(site?.energy_wh).toBeCloseTo(totalEnergy, 2)
    expect(site?.sessions).toBeGreaterThan(20)
  })

  test('efficiency, conversion efficiency and charging speed equal values from the messages; the 480 kW ratio is reported', async () => {
    const { status, body } = await get<EfficiencyResponse>(`/api/v1/metrics/efficiency?site=beibei&${range}`)
    expect(status).toBe(200)
    const expected = expectedConnectors()
    for (const row of body.rows.filter((r) => r.level === 'connector')) {
      const e = expected.get(`${row.station}/${row.connector}`)
      if (e === undefined) throw new Error('unexpected connector')
      expect(row.charging_samples).toBe(e.speedN)
      if (e.speedN > 0) expect(row.charging_speed_w).toBeCloseTo(e.speedSum / e.speedN, 6)
    }
    for (const row of body.rows.filter((r) => r.level === 'station')) {
      const samples = day.telemetry.filter(
        (m) => m.station === row.station && m.t.ts >= START && m.t.ts < END,
      )
      const grid = (samples.at(-1)?.t.meter.grid_energy_wh ?? 0) - (samples[0]?.t.meter.grid_energy_wh ?? 0)
      const delivered = [...expected.entries()]
        .filter(([k]) => k.startsWith(`${row.station}/`))
        .reduce((s, [, e]) => s + e.e1 - e.e0, 0)
      let power = 0
      let input = 0
      for (const { t } of samples) {
        power += t.connectors.reduce((s, c) => s + c.power_w!, 0)
        input += t.meter.grid_power_w! - t.meter.aux_power_w!
      }
      expect(row.grid_energy_wh).toBeCloseTo(grid, 3)
      expect(row.efficiency).toBeCloseTo(delivered / grid, 9)
      expect(row.conversion_efficiency).toBeCloseTo(power / input, 9)
    }
    const pool = (keys: string[]) => {
      const parts = keys.map((k) => expected.get(k) ?? { speedSum: 0, speedN: 0 })
      return parts.reduce((s, p) => s + p.speedSum, 0) / parts.reduce((s, p) => s + p.speedN, 0)
    }
    const superW = pool(['zn-super/1'])
    const traditionalW = pool(['kc-fast-1/1', 'kc-fast-1/2', 'kc-fast-2/1', 'kc-fast-2/2'])
    expect(body.comparison.supercharging).toEqual(['zn-super/1'])
    expect(body.comparison.traditional).toEqual(['kc-fast-1/1', 'kc-fast-1/2', 'kc-fast-2/1', 'kc-fast-2/2'])
    expect(body.comparison.ratio).toBeCloseTo(superW / traditionalW, 9)
    console.info(
      `480 kW vs traditional charging speed: ${(superW / 1000).toFixed(1)} kW vs ${(traditionalW / 1000).toFixed(1)} kW = ${(superW / traditionalW).toFixed(2)}×`,
    )
  })

  test('grouping by local day and by hour of day partitions the same energy and sessions', async () => {
    const total = (
      await get<UtilisationResponse>(`/api/v1/metrics/utilisation?site=beibei&${range}`)
    ).body.rows.find((r) => r.level === 'site')
    const byDay = (
      await get<UtilisationResponse>(`/api/v1/metrics/utilisation?site=beibei&${range}&group=day`)
    ).body
    const dayRows = byDay.rows.filter((r) => r.level === 'site')
    // Local midnight to local midnight is exactly one Asia/Shanghai day.
    expect(dayRows.map((r) => r.bucket)).toHaveLength(1)
    expect(dayRows[0]?.energy_wh).toBeCloseTo(total?.energy_wh ?? -1, 2)
    expect(dayRows[0]?.availability).toBeCloseTo(total?.availability ?? -1, 9)
    const byHour = (
      await get<UtilisationResponse>(`/api/v1/metrics/utilisation?site=beibei&${range}&group=hour`)
    ).body
    const hourRows = byHour.rows.filter((r) => r.level === 'site')
    expect(hourRows.map((r) => r.bucket).sort()).toEqual(
      [...Array(24).keys()].map((h) => String(h).padStart(2, '0')),
    )
    expect(hourRows.reduce((s, r) => s + r.energy_wh, 0)).toBeCloseTo(total?.energy_wh ?? -1, 2)
    expect(hourRows.reduce((s, r) => s + r.sessions, 0)).toBe(total?.sessions)
    // Every hour covers the same connector time, so the day's availability is the mean of its hours'.
    const hourly = hourRows.map((r) => r.availability ?? -1)
    expect(hourly.reduce((s, a) => s + a, 0) / hourly.length).toBeCloseTo(total?.availability ?? -1, 9)
  })

  test('a session reports the energy, duration and peak power its messages show, and a cost', async () => {
    const list = await get<SessionsResponse>(
      `/api/v1/sessions?site=beibei&station=zn-super&connector=1&${range}&limit=500`,
    )
    expect(list.status).toBe(200)
    const completed = list.body.sessions.filter((s) => s.ended_at !== null)
    expect(completed.length).toBeGreaterThan(3)
    expect(list.body.total).toBe(list.body.sessions.length)
    const session = completed[1] as (typeof completed)[number]
    const samples = day.telemetry
      .filter((m) => m.station === 'zn-super')
      .map((m) => ({ ts: m.t.ts, c: m.t.connectors.find((c) => c.id === 1) }))
    const first = samples.findIndex((s) => s.c?.session === session.id)
    const last = samples.findLastIndex((s) => s.c?.session === session.id)
    const registerWh = (samples[last]?.c?.energy_wh ?? 0) - (samples[first - 1]?.c?.energy_wh ?? 0)
    const peak = Math.max(...samples.slice(first, last + 1).map((s) => s.c?.power_w ?? 0))
    const detail = await get<SessionDetail>(`/api/v1/sessions/${session.id}`)
    expect(detail.status).toBe(200)
    expect(detail.body.energy_wh).toBeCloseTo(registerWh, 1)
    expect(detail.body.peak_power_w).toBe(peak)
    const started = day.sessions.find((s) => s.s.session === session.id && s.s.event === 'started')
    const stopped = day.sessions.find((s) => s.s.session === session.id && s.s.event === 'stopped')
    expect(detail.body.duration_s).toBe(((stopped?.s.ts ?? 0) - (started?.s.ts ?? 0)) / 1000)
    expect(detail.body.curve.length).toBeGreaterThan(10)
    expect(detail.body.cost?.total).toBeGreaterThan((registerWh / 1000) * 0.6)
    // Status changes of that connector from the session's start to its end, as the messages have them.
    const expectedStatuses = day.statuses
      .filter(
        ({ station, s }) =>
          station === 'zn-super' &&
          s.connector === 1 &&
          s.ts >= (started?.s.ts ?? 0) &&
          s.ts <= (stopped?.s.ts ?? 0),
      )
      .map(({ s }) => ({ t: s.ts, status: s.status, error_code: s.error_code }))
      .sort((a, b) => a.t - b.t)
    expect(expectedStatuses.length).toBeGreaterThan(0)
    expect(detail.body.status_events).toEqual(expectedStatuses)
  })

  test('the rollup path agrees with raw points once the continuous queries have run', async () => {
    await influxQuery(`CREATE RETENTION POLICY "rollup" ON "${database}" DURATION 104w REPLICATION 1`)
    for (const kind of ['connector', 'station'] as const) {
      const text = continuousQuery(database, kind).query
      await influxQuery(
        `${text.slice(text.indexOf('BEGIN ') + 6, text.lastIndexOf(' END'))}`.replace(
          /FROM "[^"]+"\."raw"\./,
          'FROM ',
        ),
      )
    }
    const raw = (await get<UtilisationResponse>(`/api/v1/metrics/utilisation?site=beibei&${range}`)).body
    const rollup = (
      await get<UtilisationResponse>(`/api/v1/metrics/utilisation?site=beibei&${range}&resolution=rollup`)
    ).body
    expect(rollup.resolution).toBe('rollup')
    const site = (r: UtilisationResponse) => r.rows.find((x) => x.level === 'site')
    expect(site(rollup)?.occupancy).toBeCloseTo(site(raw)?.occupancy ?? -1, 2)
    // Rollups count availability by whole minutes: an offline episode's edges may shift it by a minute.
    expect(site(rollup)?.availability).toBeCloseTo(site(raw)?.availability ?? -1, 2)
    expect(site(rollup)?.availability).toBeLessThan(1)
    // Rollups keep each minute's last register reading, so the energy of the range's first minute is not seen.
    const rawEnergy = site(raw)?.energy_wh ?? 0
    expect(Math.abs((site(rollup)?.energy_wh ?? 0) - rawEnergy) / rawEnergy).toBeLessThan(0.01)
    const load = await get<{ resolution: string; points: Array<{ power_w: number }> }>(
      `/api/v1/sites/beibei/load?${range}`,
    )
    expect(load.status).toBe(200)
    expect(load.body.resolution).toBe('rollup')
    expect(load.body.points.length).toBeGreaterThan(100)
  })

  test('replay streams stored messages in order, paced, and obeys pause and seek', async () => {
    const from = START + 12 * 3_600_000
    const to = from + 60_000
    const ws = new WebSocket(
      `${api.url.replace('http', 'ws')}/api/v1/replay/ws?station=zn-super&from=${from}&to=${to}&speed=3600&access_token=${ENGINEER}`,
    )
    const frames: ReplayFrame[] = []
    ws.on('message', (data) => frames.push(JSON.parse(String(data)) as ReplayFrame))
    await vi.waitFor(() => expect(frames.some((f) => f.type === 'end')).toBe(true), { timeout: 10_000 })
    const times = frames.flatMap((f) => (f.type === 'message' ? [f.t] : []))
    expect(times.length).toBeGreaterThanOrEqual(60)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    ws.send(JSON.stringify({ type: 'pause' }))
    ws.send(JSON.stringify({ type: 'seek', to: from }))
    await vi.waitFor(() =>
      expect(frames.at(-1)).toMatchObject({ type: 'state', playing: false, position: from }),
    )
    const count = frames.length
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(frames.length).toBe(count)
    ws.send('not json')
    await vi.waitFor(() => expect(frames.at(-1)?.type).toBe('error'))
    ws.close()
  })

  test('export streams NDJSON that decodes to the same points as the stored day', async () => {
    const from = START + 12 * 3_600_000
    const to = from + 15 * 60_000
    const response = await fetch(`${api.url}/api/v1/export?station=zn-super&from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${ENGINEER}` },
    })
    expect(response.status).toBe(200)
    const exported = (await response.text()).trim().split('\n')
    const toLines = (ndjson: readonly string[]) =>
      ndjson.flatMap((l) => {
        const { topic, payload } = JSON.parse(l) as { topic: string; payload: { ts?: number } }
        const r = decodeMessage(topic, Buffer.from(JSON.stringify(payload)), payload.ts ?? 0, {
          maxPayloadBytes: 1 << 20,
          maxFutureMs: Infinity,
          maxPastMs: Infinity,
        })
        if (!r.ok) throw new Error(`${r.reason}: ${r.detail}`)
        return messageToPoints(r.message, 0).map(toLine)
      })
    const original = lines.filter((l) => {
      const { topic, payload } = JSON.parse(l) as { topic: string; payload: { ts?: number } }
      return (
        topic.includes('/zn-super/') &&
        !topic.endsWith('/meta') &&
        (payload.ts ?? -1) >= from &&
        (payload.ts ?? -1) < to
      )
    })
    expect(toLines(exported).sort()).toEqual(toLines(original).sort())
    const operator = await fetch(`${api.url}/api/v1/export?station=zn-super&from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${OPERATOR}` },
    })
    expect(operator.status).toBe(403)
  })
})
