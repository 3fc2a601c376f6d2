import { decodeMessage, STOP_REASONS, type ConnectorStatus } from '@evmon/contracts'
import { beforeAll, describe, expect, test } from 'vitest'
import { dryRunMessages } from '../src/dry-run.ts'
import { toNdjsonLine, type SimMessage } from '../src/messages.ts'
import { createSite } from '../src/site.ts'
import { parseSiteConfig } from '../src/site-config.ts'
import { beibei, beibeiJson, connectorSamples, JULY_NOON, quietBeibei, telemetryOf } from './fixtures.ts'

const TWO_HOURS_S = 2 * 3600

const payloadTs = (m: SimMessage, fallback: number) => ('ts' in m.payload && m.payload.ts) || fallback

// OCPP 1.6 §4.9 (StatusNotification): the status transitions a charge point may report.
const OCPP_TRANSITIONS: Record<ConnectorStatus, ConnectorStatus[]> = {
  Available: ['Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Reserved', 'Unavailable', 'Faulted'],
  Preparing: ['Available', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Faulted'],
  Charging: ['Available', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Unavailable', 'Faulted'],
  SuspendedEV: ['Available', 'Charging', 'SuspendedEVSE', 'Finishing', 'Unavailable', 'Faulted'],
  SuspendedEVSE: ['Available', 'Charging', 'SuspendedEV', 'Finishing', 'Unavailable', 'Faulted'],
  Finishing: ['Available', 'Preparing', 'Unavailable', 'Faulted'],
  Reserved: ['Available', 'Preparing', 'Unavailable', 'Faulted'],
  Unavailable: ['Available', 'Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Faulted'],
  Faulted: [
    'Available',
    'Preparing',
    'Charging',
    'SuspendedEV',
    'SuspendedEVSE',
    'Finishing',
    'Reserved',
    'Unavailable',
  ],
}

describe('two busy hours at the Beibei site', () => {
  let messages: SimMessage[]
  beforeAll(() => {
    messages = [...dryRunMessages(createSite(beibei(), 7, JULY_NOON), TWO_HOURS_S)]
  })

  test('every message passes the contract', () => {
    let last = JULY_NOON
    const rejected: string[] = []
    for (const m of messages) {
      last = payloadTs(m, last)
      const result = decodeMessage(m.topic, Buffer.from(JSON.stringify(m.payload)), last)
      if (!result.ok) rejected.push(`${m.topic} ${JSON.stringify(m.payload)}: ${result.reason}`)
    }
    expect(rejected).toEqual([])
    const kinds = (kind: SimMessage['kind']) => messages.filter((m) => m.kind === kind)
    expect(kinds('meta')).toHaveLength(4)
    // Startup and shutdown, plus a will and a reconnection per offline episode.
    const wills = kinds('online').filter((m) => m.connection === 'lost')
    expect(kinds('online')).toHaveLength(8 + 2 * wills.length)
    expect(kinds('telemetry').length).toBeGreaterThan(0.9 * 4 * TWO_HOURS_S)
    expect(kinds('session').some((m) => m.kind === 'session' && m.payload.event === 'stopped')).toBe(true)
  })

  test('meta, online and status are retained; telemetry and session events are not', () => {
    const wrong = messages.filter((m) => m.retain !== ['meta', 'online', 'status'].includes(m.kind))
    expect(wrong).toEqual([])
  })

  test('the supercharging gun is described as liquid-cooled, the others are not', () => {
    const meta = messages.flatMap((m) => (m.kind === 'meta' ? [{ station: m.station, meta: m.payload }] : []))
    const liquid = meta.flatMap(({ station, meta }) =>
      meta.connectors.filter((c) => c.liquid_cooled).map((c) => `${station}/${c.id}`),
    )
    expect(liquid).toEqual(['zn-super/1'])
    expect(meta.find((m) => m.station === 'zn-super')?.meta.cabinet_max_power_w).toBe(480_000)
  })

  test('each station samples once per second; the sequence numbers skip only the samples lost offline', () => {
    for (const station of ['zn-super', 'kc-fast-1', 'kc-fast-2', 'kc-ac']) {
      const samples = telemetryOf(messages, station)
      expect(samples[0]?.seq).toBe(0)
      expect(samples.filter((t) => t.ts !== JULY_NOON + (t.seq + 1) * 1000)).toEqual([])
    }
  })

  test('energy registers never go backwards and the grid meter covers what the connectors deliver', () => {
    // Violations are collected and compared once: an expect() per sample would dominate the run time.
    const violations: string[] = []
    for (const station of ['zn-super', 'kc-fast-1', 'kc-fast-2', 'kc-ac']) {
      const samples = telemetryOf(messages, station)
      let previous = samples[0]
      for (const t of samples.slice(1)) {
        if (t.meter.grid_energy_wh < (previous?.meter.grid_energy_wh ?? 0))
          violations.push(`${station} grid ${t.ts}`)
        t.connectors.forEach((c, i) => {
          if (c.energy_wh < (previous?.connectors[i]?.energy_wh ?? 0))
            violations.push(`${station}/${c.id} ${t.ts}`)
        })
        const delivered = t.connectors.reduce((sum, c) => sum + c.energy_wh, 0)
        if (t.meter.grid_energy_wh <= delivered) violations.push(`${station} grid below delivered ${t.ts}`)
        const outputW = t.connectors.reduce((sum, c) => sum + c.power_w, 0)
        if (t.meter.grid_power_w < outputW) violations.push(`${station} grid power below output ${t.ts}`)
        previous = t
      }
    }
    expect(violations).toEqual([])
    const delivered = telemetryOf(messages).flatMap((t) => t.connectors.map((c) => c.energy_wh))
    expect(Math.max(...delivered)).toBeGreaterThan(10_000)
  })

  test('power equals voltage times current within 1%', () => {
    let charging = 0
    const violations: string[] = []
    for (const t of telemetryOf(messages)) {
      for (const c of t.connectors) {
        if (c.power_w === 0) {
          if (c.current_a !== 0) violations.push(`${t.ts}/${c.id}: ${c.current_a} A at 0 W`)
          continue
        }
        charging++
        if (Math.abs(c.voltage_v * c.current_a - c.power_w) > 0.01 * c.power_w) {
          violations.push(`${t.ts}/${c.id}: ${c.voltage_v} V × ${c.current_a} A ≠ ${c.power_w} W`)
        }
      }
    }
    expect(violations).toEqual([])
    expect(charging).toBeGreaterThan(1000)
  })

  test('SoC rises through every DC session, and the stop event reports the energy the register counted', () => {
    const stops = messages.flatMap((m) => (m.kind === 'session' && m.payload.event === 'stopped' ? [m] : []))
    const dcStops = stops.filter((m) => m.station !== 'kc-ac')
    expect(dcStops.length).toBeGreaterThan(0)
    for (const stop of dcStops) {
      const samples = connectorSamples(messages, stop.station, stop.payload.connector).filter(
        (c) => c.session === stop.payload.session,
      )
      const socs = samples.map((c) => c.soc_pct ?? Number.NaN)
      socs.slice(1).forEach((soc, i) => expect(soc).toBeGreaterThanOrEqual(socs[i] as number))
      expect(socs.at(-1)).toBeGreaterThan(socs[0] as number)
      const charged = samples.filter((c) => c.status !== 'Finishing')
      const registered = (charged.at(-1)?.energy_wh ?? 0) - (samples[0]?.energy_wh ?? 0)
      expect(stop.payload.energy_wh).toBeCloseTo(registered + (samples[0]?.power_w ?? 0) / 3600, 0)
      expect(stop.payload.soc_pct).toBeGreaterThan(socs[0] as number)
    }
  })

  test('the energy of a DC session is what raised the battery from its start SoC to its end SoC', () => {
    const batteryKwh = new Map(beibei().vehicles.map((v) => [v.name, v.batteryKwh]))
    const sessions = messages.flatMap((m) =>
      m.kind === 'session' && m.station !== 'kc-ac' ? [m.payload] : [],
    )
    const stops = sessions.filter((s) => s.event === 'stopped')
    expect(stops.length).toBeGreaterThan(0)
    for (const stop of stops) {
      const started = sessions.find((s) => s.event === 'started' && s.session === stop.session)
      if (!started) continue
      const batteryWh = (batteryKwh.get(stop.vehicle ?? '') ?? 0) * 1000
      const socGainPct = (stop.soc_pct ?? 0) - (started.soc_pct ?? 0)
      // Both SoCs are published to 0.01%, so the comparison can be off by 0.01% of the battery.
      const roundingWh = batteryWh * 0.0001 + 1
      expect(Math.abs((stop.energy_wh ?? 0) - (socGainPct / 100) * batteryWh)).toBeLessThanOrEqual(roundingWh)
    }
  })

  test('stop reasons are OCPP 1.6 reasons: a car at its target ended its own charge (EVDisconnected)', () => {
    const stops = messages.flatMap((m) =>
      m.kind === 'session' && m.payload.event === 'stopped' ? [{ station: m.station, ...m.payload }] : [],
    )
    expect(
      stops.map((s) => s.reason).filter((r) => !(STOP_REASONS as readonly unknown[]).includes(r)),
    ).toEqual([])
    // 70% of drivers aim for exactly 80%: a DC car that stopped there ended the charge itself.
    const atTarget = stops.filter((s) => s.station !== 'kc-ac' && s.soc_pct === 80)
    expect(atTarget.length).toBeGreaterThan(0)
    expect(new Set(atTarget.map((s) => s.reason))).toEqual(new Set(['EVDisconnected']))
    expect(stops.some((s) => s.reason === 'SOCLimitReached')).toBe(false)
  })

  test('connector statuses follow the OCPP 1.6 transitions and match the telemetry', () => {
    const last = new Map<string, ConnectorStatus>()
    for (const m of messages) {
      if (m.kind === 'status') {
        const key = `${m.station}/${m.payload.connector}`
        const before = last.get(key)
        if (before !== undefined)
          expect(OCPP_TRANSITIONS[before], `${key}: ${before} → ${m.payload.status}`).toContain(
            m.payload.status,
          )
        expect(m.payload.error_code).toBe('NoError')
        last.set(key, m.payload.status)
      }
      if (m.kind === 'telemetry') {
        for (const c of m.payload.connectors) expect(c.status).toBe(last.get(`${m.station}/${c.id}`))
      }
    }
    const seen = new Set(messages.flatMap((m) => (m.kind === 'status' ? [m.payload.status] : [])))
    expect([...seen]).toEqual(expect.arrayContaining(['Available', 'Preparing', 'Charging', 'Finishing']))
  })
})

describe('determinism', () => {
  const run = (seed: number) =>
    [...dryRunMessages(createSite(beibei(), seed, JULY_NOON), 900)].map(toNdjsonLine).join('\n')

  test('the same seed, config and start time give byte-identical output', () => {
    expect(run(42)).toBe(run(42))
  })

  test('a different seed gives a different story', () => {
    expect(run(42)).not.toBe(run(43))
  })
})

describe('charging physics', () => {
  const meanChargingPower = (samples: { status: string; power_w: number }[]) => {
    const charging = samples.filter((c) => c.status === 'Charging' && c.power_w > 0)
    return charging.reduce((sum, c) => sum + c.power_w, 0) / charging.length
  }

  test('the 480 kW gun charges an 800 V car far faster than a 160 kW gun', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
    site.plugIn('kc-fast-1', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
    const messages = Array.from({ length: 600 }, () => site.step()).flat()
    const superPower = meanChargingPower(connectorSamples(messages, 'zn-super', 1))
    const fastPower = meanChargingPower(connectorSamples(messages, 'kc-fast-1', 1))
    expect(fastPower).toBeLessThanOrEqual(160_000)
    expect(superPower).toBeGreaterThan(2 * fastPower)
  })

  test('a 400 V car on the supercharging gun stays within 670 A at its pack voltage', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'xiaomi-su7', socPct: 10, targetSocPct: 80 })
    const samples = connectorSamples(
      Array.from({ length: 1200 }, () => site.step()).flat(),
      'zn-super',
      1,
    ).filter((c) => c.power_w > 0)
    expect(samples.length).toBeGreaterThan(0)
    for (const c of samples) {
      expect(c.current_a).toBeLessThanOrEqual(670)
      expect(c.power_w).toBeLessThanOrEqual(670 * c.voltage_v * 1.001)
      expect(c.voltage_v).toBeLessThan(450)
    }
  })

  test('the gun current, not its 480 kW rating, limits a 400 V car that could take more', () => {
    const config = quietBeibei((json) => {
      json.vehicles.push({
        id: 'hungry-400v',
        name: 'Hypothetical 400 V car',
        batteryKwh: 90,
        dc: {
          voltageClass: 400,
          nominalPackVoltageV: 400,
          chemistry: 'nmc',
          packResistanceMilliohm: 40,
          peakKw: 600,
          maxCurrentA: 1500,
          curve: [
            { socPct: 0, powerKw: 600 },
            { socPct: 100, powerKw: 600 },
          ],
        },
      })
    })
    const site = createSite(config, 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'hungry-400v', socPct: 10, targetSocPct: 80 })
    const samples = connectorSamples(
      Array.from({ length: 120 }, () => site.step()).flat(),
      'zn-super',
      1,
    ).filter((c) => c.power_w > 0)
    expect(samples.length).toBeGreaterThan(0)
    for (const c of samples) {
      expect(c.current_a).toBeCloseTo(670, 0)
      expect(c.power_w).toBeLessThan(300_000)
    }
  })

  test('a car that pauses (SuspendedEV) draws no power meanwhile and resumes charging', () => {
    const json = beibeiJson()
    json.sessions.suspendedEv.probability = 1
    const site = createSite(parseSiteConfig(json), 11, JULY_NOON)
    const messages = [...dryRunMessages(site, 3600)]
    const statuses = messages.flatMap((m) => (m.kind === 'status' ? [m] : []))
    const suspended = statuses.filter((m) => m.payload.status === 'SuspendedEV')
    expect(suspended.length).toBeGreaterThan(0)
    for (const s of suspended) {
      const after = statuses.find(
        (m) =>
          m.station === s.station &&
          m.payload.connector === s.payload.connector &&
          m.payload.ts > s.payload.ts,
      )
      if (after) expect(after.payload.status).toBe('Charging')
    }
    const paused = telemetryOf(messages).flatMap((t) =>
      t.connectors.filter((c) => c.status === 'SuspendedEV'),
    )
    expect(paused.length).toBeGreaterThan(0)
    expect(paused.every((c) => c.power_w === 0)).toBe(true)
  })
})

describe('site load management', () => {
  const LIMIT_KVA = 650
  const START = Date.parse('2025-07-15T02:00:00+08:00')
  const plugAll = (site: ReturnType<typeof createSite>) => {
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
    site.plugIn('zn-super', 2, { vehicle: 'xpeng-g6', socPct: 20, targetSocPct: 80 })
    site.plugIn('kc-fast-1', 1, { vehicle: 'byd-han', socPct: 20, targetSocPct: 80 })
    site.plugIn('kc-fast-2', 1, { vehicle: 'xiaomi-su7', socPct: 20, targetSocPct: 80 })
    site.plugIn('kc-ac', 1, { vehicle: 'phev-generic', socPct: 20, targetSocPct: 80 })
    return Array.from({ length: 300 }, () => site.step()).flat()
  }

  test('site load stays within the grid limit by trimming the fast guns, not the supercharging gun', () => {
    const limited = quietBeibei((json) => (json.grid.transformerKva = LIMIT_KVA))
    const constrained = plugAll(createSite(limited, 1, START))
    const free = plugAll(createSite(quietBeibei(), 1, START))

    const limitW = LIMIT_KVA * 1000 * limited.grid.powerFactor
    const loungeW = (limited.loungeKwByHour[2] as number) * 1000
    const byTs = new Map<number, number>()
    for (const t of telemetryOf(constrained)) byTs.set(t.ts, (byTs.get(t.ts) ?? 0) + t.meter.grid_power_w)
    for (const siteW of byTs.values()) expect(siteW + loungeW).toBeLessThanOrEqual(limitW + 4)
    expect(Math.max(...byTs.values()) + loungeW).toBeGreaterThan(0.9 * limitW)

    const superLimited = connectorSamples(constrained, 'zn-super', 1).map((c) => c.power_w)
    const superFree = connectorSamples(free, 'zn-super', 1).map((c) => c.power_w)
    expect(superLimited).toEqual(superFree)
    const fastPower = (messages: SimMessage[]) =>
      telemetryOf(messages)
        .flatMap((t) => t.connectors)
        .reduce((sum, c) => sum + c.power_w, 0) -
      connectorSamples(messages, 'zn-super', 1).reduce((sum, c) => sum + c.power_w, 0)
    expect(fastPower(constrained)).toBeLessThan(0.8 * fastPower(free))
  })
})

describe('demand', () => {
  test('a connector is charging within the first simulated minute, whatever the hour', () => {
    for (const [seed, start] of [
      [1, Date.parse('2025-03-25T03:00:00+08:00')],
      [2, JULY_NOON],
      [3, Date.parse('2025-12-31T23:30:00+08:00')],
    ] as const) {
      const site = createSite(beibei(), seed, start)
      const firstMinute = Array.from({ length: 60 }, () => site.step()).flat()
      const charging = telemetryOf(firstMinute).some((t) =>
        t.connectors.some((c) => c.status === 'Charging' && c.power_w > 0),
      )
      expect(charging, `seed ${seed}`).toBe(true)
    }
  })

  test('drivers who find every suitable connector busy leave after waiting, counted as unserved', () => {
    const config = quietBeibei((json) => {
      const cls = json.arrivalClasses.find((c) => c.id === 'supercharging')
      // Drivers who would take nothing but the 480 kW gun.
      if (cls) Object.assign(cls, { sessionsPerConnectorPerDay: 500, alsoUses: [] })
    })
    const site = createSite(config, 5, JULY_NOON)
    const messages = [...dryRunMessages(site, 3600)]
    expect(site.unservedDrivers).toBeGreaterThan(0)
    const starts = messages.filter((m) => m.kind === 'session' && m.payload.event === 'started')
    expect(starts.length).toBeGreaterThan(1)
    expect(new Set(starts.map((m) => m.station))).toEqual(new Set(['zn-super']))
  })

  test('a car cannot be plugged into a busy connector or one its pack voltage does not fit', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'byd-han' })
    expect(() => site.plugIn('zn-super', 1, { vehicle: 'byd-han' })).toThrow(/Preparing/)
    expect(() => site.plugIn('kc-ac', 1, { vehicle: 'zeekr-001' })).toThrow(/cannot charge/)
    expect(() => site.plugIn('kc-ac', 9, { vehicle: 'byd-han' })).toThrow(/no connector/)
  })
})
