import {
  CHARGING_SPEED_SOC,
  MEASUREMENTS,
  MIN_COMPARISON_SESSIONS,
  ratio,
  type SpeedComparison,
  type SpeedFigure,
} from '@evmon/contracts'
import { quoteIdentifier as q } from '../influx/influxql.ts'
import type { InfluxClient } from '../influx/client.ts'
import { rowsOf } from '../influx/rows.ts'
import { whereClause, type Scope } from '../influx/scope.ts'

// Charging speed is energy ÷ charging time over the 10–80% SoC window, per session, from raw samples
// (never from minute rollups, whose minutes mix charging and idle seconds). Sessions are the unit so
// that the comparison between guns can be made for the same cars.

/** A session's energy and charging time inside the SoC window. */
export interface SessionSpeed {
  id: string
  site: string
  station: string
  connector: number
  startedAt: number
  vehicle: string | null
  energyWh: number
  chargingMs: number
}

/** A session's stop is looked for up to this long after its start. */
const MAX_SESSION_MS = 7 * 86_400_000
/** Statements per request, and requests in flight: many small statements, without flooding InfluxDB. */
const STATEMENTS_PER_REQUEST = 10
const REQUESTS_IN_FLIGHT = 2

/**
 * SoC bounds are compared with this slack: the SoC at either end of an interval is recovered from a
 * mean and a difference, which may be off by a rounding error at exactly 10% or 80%.
 */
const SOC_SLACK = 1e-9

/**
 * The statement for one session's speed: over each pair of consecutive raw samples, the register step and the
 * time between them, summed over the pairs whose two samples both show power flowing and an SoC inside
 * the window. Both ends come from transforms alone (InfluxQL cannot mix them with raw fields): with
 * m = moving_average(x, 2) and d = difference(x), the earlier sample is m − d/2 and the later m + d/2.
 * An interval into or out of a pause is left out with its energy, so a station that samples every 60 s
 * measures the same speed as one that samples every second; a register reset adds no energy.
 */
export function sessionSpeedStatement(
  s: Pick<SessionRef, 'site' | 'station' | 'connector' | 'startedAt'>,
  toMs: number,
): string {
  const where = whereClause(
    { site: s.site, station: s.station, connector: s.connector },
    s.startedAt,
    Math.max(s.startedAt + 1, toMs),
  )
  const inner =
    `SELECT non_negative_difference(${q('energy_wh')}) AS de, elapsed(${q('energy_wh')}, 1ms) AS dt, ` +
    `moving_average(${q('power_w')}, 2) AS pm, difference(${q('power_w')}) AS pd, ` +
    `moving_average(${q('soc_pct')}, 2) AS sm, difference(${q('soc_pct')}) AS sd ` +
    `FROM ${q(MEASUREMENTS.connector)} WHERE ${where}`
  const min = CHARGING_SPEED_SOC.minPct - SOC_SLACK
  const max = CHARGING_SPEED_SOC.maxPct + SOC_SLACK
  const ends = (m: string, d: string) => [`${m} - ${d} / 2`, `${m} + ${d} / 2`]
  const conditions = [
    ...ends('pm', 'pd').map((p) => `${p} > 0`),
    ...ends('sm', 'sd').flatMap((soc) => [`${soc} >= ${min}`, `${soc} <= ${max}`]),
  ]
  return `SELECT sum(de) AS e, sum(dt) AS t FROM (${inner}) WHERE ${conditions.join(' AND ')}`
}

type SessionRef = Omit<SessionSpeed, 'energyWh' | 'chargingMs'>

type Speed = { energyWh: number; chargingMs: number }
const NO_SPEED: Speed = { energyWh: 0, chargingMs: 0 }

/**
 * Speeds of finished sessions, by session id: their samples no longer change, and a week's worth is
 * many statements. Entries are promises, so that requests arriving together (the dashboard asks for
 * several groupings at once) share one computation; a failed one is forgotten. Bounded: cleared when full.
 */
export class SessionSpeedCache {
  private readonly entries = new Map<string, Promise<Speed>>()
  constructor(private readonly maxEntries = 50_000) {}
  get(id: string): Promise<Speed> | undefined {
    return this.entries.get(id)
  }
  set(id: string, speed: Promise<Speed>): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear()
    this.entries.set(id, speed)
    speed.catch(() => {
      if (this.entries.get(id) === speed) this.entries.delete(id)
    })
  }
}

/**
 * Energy and charging time (10–80% SoC) of every session that started in [fromMs, toMs) on a gun
 * `counted` accepts (the API counts DC guns: an AC pile's speed is the car's on-board charger's).
 */
export async function readSessionSpeeds(
  influx: InfluxClient,
  scope: Scope,
  window: { fromMs: number; toMs: number; nowMs: number },
  counted: (s: SessionRef) => boolean,
  cache: SessionSpeedCache,
): Promise<SessionSpeed[]> {
  const { fromMs, toMs, nowMs } = window
  const event = q(MEASUREMENTS.event)
  const [started] = await influx.query(
    `SELECT ${q('session')}, ${q('vehicle')} FROM ${event} WHERE ${q('type')} = 'session_started' AND ${whereClause(scope, fromMs, toMs)} GROUP BY ${q('site')}, ${q('station')}, ${q('connector')}`,
  )
  const sessions: SessionRef[] = []
  for (const series of started?.series ?? []) {
    const tags = series.tags ?? {}
    for (const row of series.values) {
      const id = row[series.columns.indexOf('session')]
      const vehicle = row[series.columns.indexOf('vehicle')]
      if (typeof id !== 'string') continue
      const ref = {
        id,
        site: tags.site ?? '',
        station: tags.station ?? '',
        connector: Number(tags.connector),
        startedAt: row[0] as number,
        vehicle: typeof vehicle === 'string' ? vehicle : null,
      }
      if (counted(ref)) sessions.push(ref)
    }
  }
  const todo = sessions.filter((s) => cache.get(s.id) === undefined)
  // A running session's samples still grow: only finished ones are cached.
  const running = new Map<string, Promise<Speed>>()
  if (todo.length > 0) {
    const lastStart = Math.max(...todo.map((s) => s.startedAt))
    const [stopped] = await influx.query(
      `SELECT ${q('session')} FROM ${event} WHERE ${q('type')} = 'session_stopped' AND ${whereClause(scope, Math.min(...todo.map((s) => s.startedAt)), Math.min(nowMs, lastStart + MAX_SESSION_MS) + 1)}`,
    )
    const stops = new Map<string, number>()
    for (const series of stopped?.series ?? [])
      for (const row of series.values) stops.set(String(row[1]), row[0] as number)
    const end = (s: SessionRef) => stops.get(s.id) ?? Math.min(nowMs, s.startedAt + MAX_SESSION_MS)
    // Chunks of statements, at most REQUESTS_IN_FLIGHT requests at a time: chunk i waits for chunk i − n.
    const requests: Array<Promise<unknown>> = []
    for (let i = 0; i * STATEMENTS_PER_REQUEST < todo.length; i++) {
      const chunk = todo.slice(i * STATEMENTS_PER_REQUEST, (i + 1) * STATEMENTS_PER_REQUEST)
      const before = requests[i - REQUESTS_IN_FLIGHT] ?? Promise.resolve()
      const answers = before
        .catch(() => {})
        .then(() => influx.query(chunk.map((s) => sessionSpeedStatement(s, end(s) + 1)).join('; ')))
      requests.push(answers)
      chunk.forEach((s, k) => {
        const speed = answers.then((results): Speed => {
          const values = rowsOf(results[k])[0]?.values
          return { energyWh: values?.e ?? 0, chargingMs: values?.t ?? 0 }
        })
        if (stops.has(s.id)) cache.set(s.id, speed)
        else running.set(s.id, speed)
      })
    }
  }
  const speeds = await Promise.all(sessions.map((s) => cache.get(s.id) ?? running.get(s.id) ?? NO_SPEED))
  return sessions.map((s, i) => ({ ...s, ...(speeds[i] ?? NO_SPEED) }))
}

/** Energy ÷ charging time over sessions, W, and how many sessions had charging time in the window. */
export function speedOf(sessions: readonly SessionSpeed[]): { speedW: number | null; sessions: number } {
  const counted = sessions.filter((s) => s.chargingMs > 0)
  const energy = counted.reduce((sum, s) => sum + s.energyWh, 0)
  const ms = counted.reduce((sum, s) => sum + s.chargingMs, 0)
  return { speedW: ratio(energy * 3_600_000, ms), sessions: counted.length }
}

const figure = (speedW: number | null, sessions: number): SpeedFigure => ({
  speed_w: sessions >= MIN_COMPARISON_SESSIONS ? speedW : null,
  sessions,
})

const ratioOf = (a: SpeedFigure, b: SpeedFigure): number | null =>
  a.speed_w === null || b.speed_w === null ? null : ratio(a.speed_w, b.speed_w)

export type GunClass = 'supercharging' | 'traditional' | null
export interface CarModel {
  model: string
  voltageClass: 400 | 800
}

/**
 * The supercharging guns against the traditional ones, for the same cars only: per voltage class, and
 * with each car model seen on both sides weighted equally on both sides. A figure with fewer than
 * MIN_COMPARISON_SESSIONS sessions behind it is not shown, and no ratio is made from it.
 */
export function compareSpeeds(
  sessions: readonly SessionSpeed[],
  gunClass: (s: SessionSpeed) => GunClass,
  carOf: (s: SessionSpeed) => CarModel | null,
): SpeedComparison {
  const sides = { supercharging: new Set<string>(), traditional: new Set<string>() }
  const byModel = new Map<
    string,
    { car: CarModel; supercharging: SessionSpeed[]; traditional: SessionSpeed[] }
  >()
  for (const s of sessions) {
    const side = gunClass(s)
    if (side === null) continue
    sides[side].add(`${s.station}/${s.connector}`)
    const car = carOf(s)
    if (car === null) continue
    const entry = byModel.get(car.model) ?? { car, supercharging: [], traditional: [] }
    entry[side].push(s)
    byModel.set(car.model, entry)
  }
  const models = [...byModel.values()]
  const by_class = ([800, 400] as const).map((voltage_class) => {
    const of = (side: 'supercharging' | 'traditional') => {
      const { speedW, sessions: n } = speedOf(
        models.filter((m) => m.car.voltageClass === voltage_class).flatMap((m) => m[side]),
      )
      return figure(speedW, n)
    }
    const supercharging = of('supercharging')
    const traditional = of('traditional')
    return { voltage_class, supercharging, traditional, ratio: ratioOf(supercharging, traditional) }
  })
  const shared = models
    .map((m) => ({
      model: m.car.model,
      supercharging: speedOf(m.supercharging),
      traditional: speedOf(m.traditional),
    }))
    .filter((m) => m.supercharging.speedW !== null && m.traditional.speedW !== null)
    .sort((a, b) => a.model.localeCompare(b.model))
  const mix = (side: 'supercharging' | 'traditional') =>
    figure(
      shared.length === 0 ? null : shared.reduce((sum, m) => sum + (m[side].speedW ?? 0), 0) / shared.length,
      shared.reduce((n, m) => n + m[side].sessions, 0),
    )
  const supercharging = mix('supercharging')
  const traditional = mix('traditional')
  return {
    min_sessions: MIN_COMPARISON_SESSIONS,
    supercharging: [...sides.supercharging].sort(),
    traditional: [...sides.traditional].sort(),
    by_class,
    same_mix: {
      models: shared.map((m) => m.model),
      supercharging,
      traditional,
      ratio: ratioOf(supercharging, traditional),
    },
  }
}
