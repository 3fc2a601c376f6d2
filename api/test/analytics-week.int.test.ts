import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { continuousQuery, type EfficiencyResponse, type UtilisationResponse } from '@evmon/contracts'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import {
  connectorEnergy,
  connectorTimes,
  messagesOf,
  pooledSpeed,
  sessionSpeeds,
  type Messages,
} from './analytics-reference.ts'
import { MemoryFeed } from './fakes.ts'
import { simulatedDay, writeDay } from './simulated-day.ts'

// A seeded simulated week of the Beibei site at 10 s samples (what a first `npm start` backfills),
// written through the contract's decoder and line-protocol mapping; the week's figures are recomputed
// from the same messages by the reference in analytics-reference.ts. A week gives the 480 kW comparison
// enough sessions per voltage class to be shown.

const influxUrl = inject('influxUrl')
const database = `api_week_${randomBytes(4).toString('hex')}`
const OPERATOR = 'op-token-week'
const sha = (t: string) => createHash('sha256').update(t).digest('hex')
const DAY_MS = 86_400_000
// Seven whole local days in Chongqing, ending at local midnight yesterday: inside raw retention.
const END = Math.floor((Date.now() + 8 * 3_600_000) / DAY_MS) * DAY_MS - 8 * 3_600_000 - DAY_MS
const START = END - 7 * DAY_MS
const SAMPLE_MS = 10_000

const SITE_FILE = JSON.parse(readFileSync('config/sites/beibei.json', 'utf8')) as {
  vehicles: Array<{ id: string; name: string; dc?: { voltageClass?: number } }>
  stations: Array<{ id: string; connectors: Array<{ id: number; kind: string }> }>
}
const DC_GUNS = new Set(
  SITE_FILE.stations.flatMap((s) =>
    s.connectors.filter((c) => c.kind === 'dc').map((c) => `${s.id}/${c.id}`),
  ),
)
const carOf = (vehicle: string | null) => {
  const car = SITE_FILE.vehicles.find((v) => v.id === vehicle || v.name === vehicle)
  return car?.dc?.voltageClass === undefined ? null : { model: car.id, voltageClass: car.dc.voltageClass }
}

let api: ApiHandle
let m: Messages

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
  const lines = simulatedDay(START, 7, 7 * 86_400, SAMPLE_MS)
  m = messagesOf(lines)
  await influxQuery(`CREATE DATABASE "${database}"`)
  await writeDay(influxUrl, database, lines)
  // The rollups the continuous queries would have built over the week.
  await influxQuery(`CREATE RETENTION POLICY "rollup" ON "${database}" DURATION 104w REPLICATION 1`)
  for (const kind of ['connector', 'station'] as const) {
    const text = continuousQuery(database, kind).query
    await influxQuery(
      text
        .slice(text.indexOf('BEGIN ') + 6, text.lastIndexOf(' END'))
        .replace(/FROM "[^"]+"\."raw"\./, 'FROM '),
    )
  }
  api = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_INFLUX_URL: influxUrl,
      EVMON_INFLUX_DB: database,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `operator:${sha(OPERATOR)}`,
    }),
    { feed: new MemoryFeed() },
  )
}, 900_000)

afterAll(async () => {
  await api?.close()
  await influxQuery(`DROP DATABASE "${database}"`).catch(() => {})
})

const range = `site=beibei&from=${START}&to=${END}`

describe('analytics over a simulated week at 10 s samples', () => {
  test('uptime, occupancy, time utilisation and energy per connector equal the messages, per day and for the week', async () => {
    const week = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}`)
    expect(week.resolution).toBe('rollup')
    const raw = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}&resolution=raw`)
    const times = connectorTimes(m, START, END)
    const energy = connectorEnergy(m, START, END)
    for (const row of week.rows.filter((r) => r.level === 'connector')) {
      const key = `${row.station}/${row.connector}`
      const e = times.get(key) ?? expect.fail(key)
      expect(row.period_s).toBe(e.periodS)
      expect(row.outage_s).toBe(e.outageS)
      expect(row.occupancy).toBeCloseTo(e.pluggedS / e.periodS, 12)
      expect(row.time_utilisation).toBeCloseTo(e.chargingS / e.periodS, 12)
      // Raw points give the exact register steps; the rollups each minute's highest reading, which
      // misses the energy of the week's first minute only.
      const rawRow = raw.rows.find(
        (r) => r.level === 'connector' && r.station === row.station && r.connector === row.connector,
      )
      expect(rawRow?.energy_wh).toBeCloseTo(energy.get(key) ?? -1, 3)
      expect(row.energy_wh).toBeLessThanOrEqual((energy.get(key) ?? 0) + 1e-6)
      expect(row.energy_wh).toBeGreaterThan((energy.get(key) ?? 0) * 0.99)
    }
    const site = week.rows.find((r) => r.level === 'site')
    expect(site?.availability).toBeLessThan(1)
    const days = await get<UtilisationResponse>(`/api/v1/metrics/utilisation?${range}&group=day`)
    const dayRows = days.rows.filter((r) => r.level === 'site')
    expect(dayRows).toHaveLength(7)
    expect(dayRows.reduce((s, r) => s + r.outage_s, 0)).toBe(site?.outage_s)
    expect(dayRows.reduce((s, r) => s + r.period_s, 0)).toBe(site?.period_s)
    expect(dayRows.reduce((s, r) => s + r.sessions, 0)).toBe(site?.sessions)
  })

  test('the 480 kW comparison per voltage class and for the same mix equals the sessions in the messages', async () => {
    const { comparison, rows } = await get<EfficiencyResponse>(`/api/v1/metrics/efficiency?${range}`)
    const sessions = sessionSpeeds(m, START, END).filter((s) => DC_GUNS.has(`${s.station}/${s.connector}`))
    for (const row of rows.filter((r) => r.level === 'connector')) {
      const expected = pooledSpeed(
        sessions.filter((s) => s.station === row.station && s.connector === row.connector),
      )
      expect(row.speed_sessions).toBe(expected.n)
      if (expected.w !== null) expect(row.charging_speed_w).toBeCloseTo(expected.w, 6)
    }
    // The liquid-cooled 480 kW gun against the air-cooled 160 kW stations' guns.
    const superSessions = sessions.filter((s) => s.station === 'zn-super' && s.connector === 1)
    const traditional = sessions.filter((s) => s.station.startsWith('kc-fast'))
    for (const c of comparison.by_class) {
      const fast = pooledSpeed(
        superSessions.filter((s) => carOf(s.vehicle)?.voltageClass === c.voltage_class),
      )
      const slow = pooledSpeed(traditional.filter((s) => carOf(s.vehicle)?.voltageClass === c.voltage_class))
      expect(c.supercharging.sessions).toBe(fast.n)
      expect(c.traditional.sessions).toBe(slow.n)
      if (fast.n >= comparison.min_sessions && slow.n >= comparison.min_sessions)
        expect(c.ratio).toBeCloseTo((fast.w ?? 0) / (slow.w ?? 1), 9)
      else expect(c.ratio).toBeNull()
      console.info(
        `week, ${c.voltage_class} V cars: 480 kW gun ${fast.n} sessions ${((fast.w ?? 0) / 1000).toFixed(1)} kW, traditional ${slow.n} sessions ${((slow.w ?? 0) / 1000).toFixed(1)} kW, ratio ${c.ratio?.toFixed(2) ?? 'not enough sessions'}`,
      )
    }
    // A week is enough for at least one class to be compared.
    expect(comparison.by_class.some((c) => c.ratio !== null)).toBe(true)
    const models = [...new Set(sessions.map((s) => carOf(s.vehicle)?.model).filter((x) => x !== undefined))]
      .filter((model) =>
        [superSessions, traditional].every(
          (list) => pooledSpeed(list.filter((s) => carOf(s.vehicle)?.model === model)).w !== null,
        ),
      )
      .sort()
    expect(comparison.same_mix.models).toEqual(models)
    const mix = (list: typeof sessions) =>
      models.reduce(
        (sum, model) => sum + (pooledSpeed(list.filter((s) => carOf(s.vehicle)?.model === model)).w ?? 0),
        0,
      ) / models.length
    const { supercharging, traditional: slow } = comparison.same_mix
    if (Math.min(supercharging.sessions, slow.sessions) >= comparison.min_sessions)
      expect(comparison.same_mix.ratio).toBeCloseTo(mix(superSessions) / mix(traditional), 9)
    else expect(comparison.same_mix.ratio).toBeNull()
    console.info(
      `week, same mix (${models.join(', ')}): ratio ${comparison.same_mix.ratio?.toFixed(2) ?? 'not enough sessions'}`,
    )
  })
})
