import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  continuousQuery,
  stationTopic,
  type ConnectorSample,
  type ConnectorStatus,
  type EfficiencyResponse,
  type SessionDetail,
  type SessionsResponse,
  type StationMeta,
  type UtilisationResponse,
} from '@evmon/contracts'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import {
  connectorEnergy,
  connectorTimes,
  gridEnergy,
  messagesOf,
  pooledSpeed,
  sessionSpeeds,
  type Messages,
} from './analytics-reference.ts'
import { MemoryFeed } from './fakes.ts'
import { stationMeta } from './fixtures.ts'
import { writeDay } from './simulated-day.ts'

// Hand-built stations with known histories, written to a real InfluxDB through the contract's decoder
// and line-protocol mapping, and every figure recomputed from the same messages by the reference in
// analytics-reference.ts. Two DC stations live the same life, one reporting every second and one every
// 60 s: an outage that began before the window, a gun left without power (SuspendedEVSE), a fault
// partly inside declared maintenance, and a meter reset inside the window. A third station is an AC pile.

const influxUrl = inject('influxUrl')
const database = `api_defs_${randomBytes(4).toString('hex')}`
const OPERATOR = 'op-token-definitions'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')
const SITE = 'lab'
const HOUR = 3_600_000
/** Window start: a whole hour two days ago, inside raw retention. */
const W0 = Math.floor(Date.now() / HOUR) * HOUR - 48 * HOUR
const W1 = W0 + 6 * HOUR
const at = (s: number) => W0 + s * 1000
const RESET_S = 14_400
const MAINTENANCE = { from: at(10_800), to: at(11_700) }

/** Status changes per connector, seconds from W0. */
const STATUS: Record<number, Array<[number, ConnectorStatus]>> = {
  1: [
    [-7200, 'Available'],
    [3600, 'Preparing'],
    [3660, 'Charging'],
    [7200, 'SuspendedEVSE'],
    [7500, 'Charging'],
    [9000, 'SuspendedEV'],
    [9300, 'Finishing'],
    [9600, 'Available'],
  ],
  2: [
    [-7200, 'Available'],
    [10_800, 'Faulted'],
    [12_600, 'Available'],
    [12_900, 'Preparing'],
    [13_000, 'Charging'],
    [16_000, 'Finishing'],
    [16_200, 'Available'],
  ],
}
const POWER_W: Record<number, number> = { 1: 60_000, 2: 100_000 }
const SESSIONS: Record<number, { id: string; from: number; to: number; vehicle: string }> = {
  1: { id: 'a', from: 3600, to: 9600, vehicle: 'zeekr-001' },
  2: { id: 'b', from: 12_900, to: 16_200, vehicle: 'byd-han' },
}
/** The link: online, lost 10 minutes before the window, back 30 minutes into it. */
const ONLINE: Array<[number, boolean]> = [
  [-7200, true],
  [-600, false],
  [1800, true],
]

const statusAt = (id: number, s: number): ConnectorStatus =>
  (STATUS[id] ?? []).filter(([t]) => t <= s).at(-1)?.[1] ?? 'Available'
const onlineAt = (s: number): boolean => ONLINE.filter(([t]) => t <= s).at(-1)?.[1] ?? true

/** NDJSON lines of one DC station reporting every `periodS` seconds from W0 − 2 h to W1. */
function dcStation(station: string, periodS: number): string[] {
  const line = (kind: 'meta' | 'online' | 'status' | 'session' | 'telemetry', payload: unknown) =>
    JSON.stringify({ topic: stationTopic(SITE, station, kind), payload })
  const lines = [line('meta', stationMeta(station))]
  const energy = { 1: 2_000_000, 2: 3_000_000, grid: 9_000_000 }
  const soc = { 1: 20, 2: 30 }
  let seq = 0
  for (let s = -7200; s < 6 * 3600; s++) {
    if (s === RESET_S) {
      // The station restarts: sequence and registers start over.
      energy[1] = 0
      energy[2] = 0
      energy.grid = 0
      seq = 0
    }
    for (const [t, online] of ONLINE) if (t === s) lines.push(line('online', { online, ts: at(s) }))
    for (const id of [1, 2] as const) {
      for (const [t, status] of STATUS[id] ?? [])
        if (t === s)
          lines.push(
            line('status', {
              ts: at(s),
              connector: id,
              status,
              error_code: status === 'Faulted' ? 'InternalError' : 'NoError',
            }),
          )
      const session = SESSIONS[id]
      if (session?.from === s)
        lines.push(
          line('session', {
            ts: at(s),
            event: 'started',
            session: `${station}-${session.id}`,
            connector: id,
            vehicle: session.vehicle,
            soc_pct: soc[id],
          }),
        )
      if (session?.to === s)
        lines.push(
          line('session', {
            ts: at(s),
            event: 'stopped',
            session: `${station}-${session.id}`,
            connector: id,
            soc_pct: soc[id],
            reason: 'EVDisconnected',
          }),
        )
    }
    const connectors: ConnectorSample[] = ([1, 2] as const).map((id) => {
      const status = statusAt(id, s)
      const powerW = status === 'Charging' ? (POWER_W[id] ?? 0) : 0
      const session = SESSIONS[id]
      const plugged = session !== undefined && s >= session.from && s < session.to
      return {
        id,
        status,
        power_w: powerW,
        offered_w: status === 'SuspendedEVSE' ? 0 : powerW,
        voltage_v: powerW > 0 ? 750 : 0,
        current_a: powerW / 750,
        energy_wh: energy[id],
        soc_pct: soc[id],
        ...(plugged && { session: `${station}-${session.id}` }),
      }
    })
    const chargingW = connectors.reduce((sum, c) => sum + (c.power_w ?? 0), 0)
    if (onlineAt(s) && s % periodS === 0) {
      lines.push(
        line('telemetry', {
          v: 1,
          ts: at(s),
          seq: seq++,
          meter: {
            grid_power_w: chargingW / 0.95 + 1000,
            grid_energy_wh: energy.grid,
            aux_power_w: 1000,
            cabinet_temp_c: 30,
          },
          connectors,
        }),
      )
    }
    // The registers move every second, whether or not the station reports (or is reachable).
    for (const c of connectors) {
      const id = c.id as 1 | 2
      energy[id] += (c.power_w ?? 0) / 3600
      soc[id] = Math.min(100, soc[id] + (c.power_w ?? 0) / 3600 / 1000)
    }
    energy.grid += (chargingW / 0.95 + 1000) / 3600
  }
  return lines
}

/** An always-online 7 kW AC pile reporting every 10 s, charging for an hour. */
function acStation(): string[] {
  const meta: StationMeta = stationMeta('lab-ac', {
    cooling: 'air',
    cabinet_max_power_w: 7_000,
    connectors: [
      {
        id: 1,
        kind: 'ac',
        standard: 'GB/T 20234.2',
        max_power_w: 7_000,
        max_current_a: 32,
        min_voltage_v: 200,
        max_voltage_v: 250,
      },
    ],
  })
  const line = (kind: 'meta' | 'online' | 'status' | 'telemetry', payload: unknown) =>
    JSON.stringify({ topic: stationTopic(SITE, 'lab-ac', kind), payload })
  const lines = [line('meta', meta), line('online', { online: true, ts: at(-7200) })]
  lines.push(line('status', { ts: at(-7200), connector: 1, status: 'Available', error_code: 'NoError' }))
  lines.push(line('status', { ts: at(3600), connector: 1, status: 'Charging', error_code: 'NoError' }))
  lines.push(line('status', { ts: at(7200), connector: 1, status: 'Available', error_code: 'NoError' }))
  let energy = 500_000
  for (let s = -7200; s < 6 * 3600; s += 10) {
    const charging = s >= 3600 && s < 7200
    const power = charging ? 7_000 : 0
    lines.push(
      line('telemetry', {
        v: 1,
        ts: at(s),
        seq: (s + 7200) / 10,
        meter: { grid_power_w: power + 5, grid_energy_wh: energy * 1.005, aux_power_w: 5 },
        connectors: [
          {
            id: 1,
            status: charging ? 'Charging' : 'Available',
            power_w: power,
            offered_w: 7000,
            voltage_v: 220,
            current_a: power / 220,
            energy_wh: energy,
          },
        ],
      }),
    )
    energy += (power * 10) / 3600
  }
  return lines
}

const EXCLUDE = `${MAINTENANCE.from}/${MAINTENANCE.to}/maintenance`
let api: ApiHandle
let m: Messages
const feed = new MemoryFeed()

async function influxQuery(q: string): Promise<void> {
  const response = await fetch(`${influxUrl}/query`, {
    method: 'POST',
    body: new URLSearchParams({ q, db: database }),
  })
  const text = await response.text()
  if (!response.ok || text.includes('"error"')) throw new Error(`InfluxDB: ${text}`)
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${OPERATOR}` } })
  const body = (await response.json()) as T
  if (response.status !== 200) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`)
  return body
}

beforeAll(async () => {
  const lines = [...dcStation('lab-1s', 1), ...dcStation('lab-60s', 60), ...acStation()]
  m = messagesOf(lines)
  await influxQuery(`CREATE DATABASE "${database}"`)
  await writeDay(influxUrl, database, lines)
  api = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `operator:${sha(OPERATOR)}`,
    }),
    { feed },
  )
  // The stations' descriptions reach the API as they would over MQTT: ratings come from them.
  for (const line of lines) {
    const { topic, payload } = JSON.parse(line) as { topic: string; payload: unknown }
    if (topic.endsWith('/meta')) feed.publish(topic, JSON.stringify(payload))
  }
}, 120_000)

afterAll(async () => {
  await api?.close()
  await influxQuery(`DROP DATABASE "${database}"`).catch(() => {})
})

const range = `site=${SITE}&from=${W0}&to=${W1}`

describe('analytics definitions against hand-built histories', () => {
  test('uptime, occupancy and time utilisation are time-weighted from events: the outage across the window start counts, and a 60 s station scores what a 1 s one does', async () => {
    const body = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}&exclude=${EXCLUDE}`)
    expect(body.excluded).toEqual([{ ...MAINTENANCE, reason: 'maintenance' }])
    const expected = connectorTimes(m, W0, W1, [MAINTENANCE])
    const connectors = body.rows.filter((r) => r.level === 'connector')
    expect(connectors).toHaveLength(5)
    for (const row of connectors) {
      const e = expected.get(`${row.station}/${row.connector}`)
      if (e === undefined) throw new Error(`unexpected ${row.station}/${row.connector}`)
      expect(row.period_s).toBe(e.periodS)
      expect(row.outage_s).toBe(e.outageS)
      expect(row.excluded_s).toBe(e.excludedS)
      expect(row.availability).toBeCloseTo((e.periodS - (e.outageS - e.excludedS)) / e.periodS, 12)
      expect(row.occupancy).toBeCloseTo(e.pluggedS / e.periodS, 12)
      expect(row.time_utilisation).toBeCloseTo(e.chargingS / e.periodS, 12)
    }
    const of = (station: string, c: number) =>
      connectors.find((r) => r.station === station && r.connector === c) ?? expect.fail(`${station}/${c}`)
    for (const c of [1, 2]) {
      const [fast, slow] = [of('lab-1s', c), of('lab-60s', c)]
      expect(slow.availability).toBe(fast.availability)
      expect(slow.occupancy).toBe(fast.occupancy)
      expect(slow.time_utilisation).toBe(fast.time_utilisation)
      // The link was lost before the window and came back 30 minutes into it.
      expect(fast.outage_s).toBeGreaterThanOrEqual(1800)
    }
    // Gun 1 waited 5 minutes without power (SuspendedEVSE): down, and plugged in but not charging.
    expect(of('lab-1s', 1).outage_s).toBe(1800 + 300)
    expect(of('lab-1s', 1).occupancy).toBeGreaterThan(of('lab-1s', 1).time_utilisation ?? 1)
    // Gun 2's fault overlaps the maintenance window by 15 minutes, which are excluded.
    expect(of('lab-1s', 2).excluded_s).toBe(900)
    const site = body.rows.find((r) => r.level === 'site')
    const total = [...expected.values()].reduce(
      (s, e) => ({ period: s.period + e.periodS, down: s.down + e.outageS - e.excludedS }),
      { period: 0, down: 0 },
    )
    expect(site?.availability).toBeCloseTo(1 - total.down / total.period, 12)
  })

  test("excluded time declared in EVMON_API_EXCLUDED_TIME_FILE applies to the station it names, next to the request's own", async () => {
    // A grid outage declared for the 60 s station over the first 20 minutes of its link outage.
    const outage = { from: W0, to: at(1200) }
    const dir = mkdtempSync(join(tmpdir(), 'evmon-excluded-'))
    const file = join(dir, 'excluded.json')
    writeFileSync(
      file,
      JSON.stringify([
        {
          site: SITE,
          station: 'lab-60s',
          from: new Date(outage.from).toISOString(),
          to: outage.to,
          reason: 'grid_outage',
        },
        { site: 'elsewhere', from: W0, to: W1, reason: 'disaster' },
      ]),
    )
    const declared = await start(
      loadConfig({
        EVMON_HTTP_PORT: '0',
        EVMON_INFLUX_URL: influxUrl,
        EVMON_INFLUX_DB: database,
        EVMON_LOG_LEVEL: 'silent',
        EVMON_API_TOKENS: `operator:${sha(OPERATOR)}`,
        EVMON_API_EXCLUDED_TIME_FILE: file,
      }),
      { feed: new MemoryFeed() },
    )
    try {
      const response = await fetch(`${declared.url}/api/v1/metrics/utilisation?${range}&exclude=${EXCLUDE}`, {
        headers: { authorization: `Bearer ${OPERATOR}` },
      })
      const body = (await response.json()) as UtilisationResponse
      expect(body.excluded).toEqual([
        { ...outage, reason: 'grid_outage', site: SITE, station: 'lab-60s' },
        { ...MAINTENANCE, reason: 'maintenance' },
      ])
      const plain = connectorTimes(m, W0, W1, [MAINTENANCE])
      const withOutage = connectorTimes(m, W0, W1, [MAINTENANCE, outage])
      for (const row of body.rows.filter((r) => r.level === 'connector')) {
        const e = (row.station === 'lab-60s' ? withOutage : plain).get(`${row.station}/${row.connector}`)
        if (e === undefined) throw new Error(`unexpected ${row.station}/${row.connector}`)
        expect(row.excluded_s).toBe(e.excludedS)
        expect(row.availability).toBeCloseTo((e.periodS - (e.outageS - e.excludedS)) / e.periodS, 12)
      }
      const of = (station: string) =>
        body.rows.find((r) => r.level === 'connector' && r.station === station && r.connector === 1)
      expect((of('lab-60s')?.excluded_s ?? 0) - (of('lab-1s')?.excluded_s ?? 0)).toBe(1200)
    } finally {
      await declared.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('energy sums non-negative register steps across a reset; energy utilisation uses min(cabinet, Σ guns), DC and AC apart', async () => {
    const body = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}`)
    const energy = connectorEnergy(m, W0, W1)
    const row = (level: string, station: string | null, c: number | null = null) =>
      body.rows.find((r) => r.level === level && r.station === station && r.connector === c) ??
      expect.fail(`${station}`)
    for (const [key, wh] of energy) {
      const [station = '', c] = key.split('/')
      expect(row('connector', station, Number(c)).energy_wh).toBeCloseTo(wh, 3)
    }
    // The reset is inside the window: max − min of the register would book the pre-reset reading.
    const register = m.telemetry
      .filter((x) => x.station === 'lab-1s' && x.t.ts >= W0 && x.t.ts < W1)
      .map((x) => x.t.connectors.find((c) => c.id === 2)?.energy_wh ?? 0)
    expect(Math.max(...register) - Math.min(...register)).toBeGreaterThan((energy.get('lab-1s/2') ?? 0) * 2)
    expect(energy.get('lab-1s/2')).toBeGreaterThan(50_000)

    const windowH = (W1 - W0) / HOUR
    const meta = stationMeta('x')
    const dcCapacityW = Math.min(
      meta.cabinet_max_power_w ?? 0,
      meta.connectors.reduce((s, c) => s + (c.max_power_w ?? 0), 0),
    )
    expect(dcCapacityW).toBe(480_000)
    const dcWh = (station: string) => (energy.get(`${station}/1`) ?? 0) + (energy.get(`${station}/2`) ?? 0)
    const fast = row('station', 'lab-1s')
    expect(fast.energy_utilisation_dc).toBeCloseTo(
      dcWh('lab-1s') / ((dcCapacityW / 1000) * windowH * 1000),
      12,
    )
    expect(fast.energy_utilisation_ac).toBeNull()
    expect(row('connector', 'lab-1s', 2).energy_utilisation_dc).toBeCloseTo(
      (energy.get('lab-1s/2') ?? 0) / (160 * windowH * 1000),
      12,
    )
    const acWh = energy.get('lab-ac/1') ?? 0
    expect(row('station', 'lab-ac').energy_utilisation_ac).toBeCloseTo(acWh / (7 * windowH * 1000), 12)
    const site = row('site', null)
    expect(site.energy_utilisation_dc).toBeCloseTo(
      (dcWh('lab-1s') + dcWh('lab-60s')) / (2 * 480 * windowH * 1000),
      12,
    )
    expect(site.energy_utilisation_ac).toBeCloseTo(acWh / (7 * windowH * 1000), 12)

    // Hours of day partition the window's energy and time.
    const byHour = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}&group=hour`)
    const hours = byHour.rows.filter((r) => r.level === 'site')
    expect(hours).toHaveLength(6)
    expect(hours.reduce((s, r) => s + r.energy_wh, 0)).toBeCloseTo(site.energy_wh, 3)
    expect(hours.reduce((s, r) => s + r.outage_s, 0)).toBe(site.outage_s)
  })

  test('grid energy and efficiency survive the reset; speed is energy ÷ charging time per session, pauses excluded', async () => {
    const body = await get<EfficiencyResponse>(`/api/v1/metrics/efficiency?${range}`)
    const grid = gridEnergy(m, W0, W1)
    const delivered = connectorEnergy(m, W0, W1)
    for (const station of ['lab-1s', 'lab-60s', 'lab-ac']) {
      const row =
        body.rows.find((r) => r.level === 'station' && r.station === station) ?? expect.fail(station)
      const out = [...delivered].filter(([k]) => k.startsWith(`${station}/`)).reduce((s, [, wh]) => s + wh, 0)
      expect(row.grid_energy_wh).toBeCloseTo(grid.get(station) ?? -1, 3)
      expect(row.efficiency).toBeCloseTo(out / (grid.get(station) ?? 1), 9)
    }
    const sessions = sessionSpeeds(m, W0, W1)
    expect(sessions).toHaveLength(4)
    for (const row of body.rows.filter((r) => r.level === 'connector' && r.station !== 'lab-ac')) {
      const expected = pooledSpeed(
        sessions.filter((s) => s.station === row.station && s.connector === row.connector),
      )
      expect(row.speed_sessions).toBe(expected.n)
      expect(row.charging_speed_w).toBeCloseTo(expected.w ?? -1, 6)
    }
    // Power flows at 60 kW while charging: the 5 minutes without power do not dilute the speed, and
    // the 60 s station measures the same speed.
    const speed = (station: string) =>
      body.rows.find((r) => r.level === 'connector' && r.station === station && r.connector === 1)
        ?.charging_speed_w ?? 0
    expect(speed('lab-1s')).toBeCloseTo(60_000, 6)
    expect(speed('lab-60s')).toBeCloseTo(60_000, 6)
  })

  test('a session across the reset: energy from non-negative steps, charging and idle time from its status events, speed from raw samples', async () => {
    const session = SESSIONS[2] ?? expect.fail('session')
    const id = `lab-1s-${session.id}`
    const detail = await get<SessionDetail>(`/api/v1/sessions/${id}`)
    const [from, to] = [at(session.from), at(session.to)]
    // Reference: every sample of the session's connector from its start to its stop, step by step.
    let previous: number | undefined
    let energy = 0
    for (const { t } of m.telemetry.filter((x) => x.station === 'lab-1s' && x.t.ts >= from && x.t.ts <= to)) {
      const wh = t.connectors.find((c) => c.id === 2)?.energy_wh ?? 0
      if (previous !== undefined) energy += Math.max(0, wh - previous)
      previous = wh
    }
    expect(detail.energy_wh).toBeCloseTo(energy, 3)
    // Status by second from the messages: Charging counts as charging, SuspendedEV and Finishing as idle.
    const statuses = m.statuses.filter((x) => x.station === 'lab-1s' && x.s.connector === 2)
    let charging = 0
    let idle = 0
    for (let t = from; t < to; t += 1000) {
      const status = statuses.filter((x) => x.s.ts <= t).at(-1)?.s.status
      if (status === 'Charging') charging++
      if (status === 'SuspendedEV' || status === 'Finishing') idle++
    }
    expect(detail).toMatchObject({ charging_s: charging, idle_s: idle })
    expect(idle).toBeGreaterThan(0)
    const speed = pooledSpeed(sessionSpeeds(m, from, from + 1).filter((x) => x.id === id))
    expect(detail.charging_speed_w).toBeCloseTo(speed.w ?? -1, 6)
    const list = await get<SessionsResponse>(
      `/api/v1/sessions?site=${SITE}&station=lab-1s&from=${W0}&to=${W1}`,
    )
    expect(list.sessions.find((x) => x.id === id)).toMatchObject({ charging_s: charging, idle_s: idle })
  })

  test("rollups (each minute's last reading) give the same energy, short of the reset minute", async () => {
    await influxQuery(`CREATE RETENTION POLICY "rollup" ON "${database}" DURATION 104w REPLICATION 1`)
    for (const kind of ['connector', 'station'] as const) {
      const text = continuousQuery(database, kind).query
      await influxQuery(
        text
          .slice(text.indexOf('BEGIN ') + 6, text.lastIndexOf(' END'))
          .replace(/FROM "[^"]+"\."raw"\./, 'FROM '),
      )
    }
    const raw = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}`)
    const rollup = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}&resolution=rollup`)
    expect(rollup.resolution).toBe('rollup')
    for (const r of rollup.rows.filter((x) => x.level === 'connector')) {
      const rawRow = raw.rows.find(
        (x) => x.level === 'connector' && x.station === r.station && x.connector === r.connector,
      )
      const rawWh = rawRow?.energy_wh ?? -1
      // A step is never negative and the pre-reset register is never booked: at most the energy from
      // the reset to the end of the next minute (2 min at 100 kW) is lost.
      expect(r.energy_wh).toBeLessThanOrEqual(rawWh + 1e-6)
      expect(rawWh - r.energy_wh).toBeLessThanOrEqual((2 * 60 * 100_000) / 3600 + 1e-6)
      // Uptime does not depend on the resolution: it comes from events either way.
      expect(r.availability).toBe(rawRow?.availability)
    }
  })
})
