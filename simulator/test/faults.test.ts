import { decodeMessage } from '@evmon/contracts'
import type { SimMessage } from '../src/messages.ts'
import { describe, expect, test } from 'vitest'
import { createSite } from '../src/site.ts'
import { connectorSamples, JULY_NOON, quietBeibei, telemetryOf } from './fixtures.ts'

type StatusMessage = Extract<SimMessage, { kind: 'status' }>
type SessionMessage = Extract<SimMessage, { kind: 'session' }>

const statusesOf = (messages: SimMessage[], station: string, connector: number) =>
  messages
    .filter((m): m is StatusMessage => m.kind === 'status' && m.station === station)
    .filter((m) => m.payload.connector === connector)
    .map((m) => `${m.payload.status}:${m.payload.error_code}`)
const sessionsOf = (messages: SimMessage[]) =>
  messages.filter((m): m is SessionMessage => m.kind === 'session').map((m) => m.payload)
const run = (site: ReturnType<typeof createSite>, seconds: number) =>
  Array.from({ length: seconds }, () => site.step()).flat()

describe('start failures', () => {
  const failing = (recoveryProbability: number) =>
    quietBeibei((json) => {
      for (const cls of json.arrivalClasses) if (cls.id === 'supercharging') cls.initialOccupancy = 1
      json.faults.startFailure = { probability: 1, retryS: { min: 30, max: 30 }, recoveryProbability }
      json.sessions.leaveEarly.probability = 0
      json.faults.interruption.probability = 0
    })

  test('a failed handshake shows SuspendedEVSE with EVCommunicationError, and a successful retry charges', () => {
    const messages = run(createSite(failing(1), 1, JULY_NOON), 600)
    const statuses = statusesOf(messages, 'zn-super', 1)
    expect(statuses.slice(0, 2)).toEqual(['SuspendedEVSE:EVCommunicationError', 'Charging:NoError'])
    expect(sessionsOf(messages).filter((s) => s.event === 'started')).toHaveLength(1)
  })

  test('a retry that fails ends without a session: the driver unplugs and the failure is counted', () => {
    const site = createSite(failing(0), 1, JULY_NOON)
    const messages = run(site, 600)
    expect(statusesOf(messages, 'zn-super', 1)).toEqual([
      'SuspendedEVSE:EVCommunicationError',
      'Finishing:NoError',
      'Available:NoError',
    ])
    expect(sessionsOf(messages)).toEqual([])
    expect(site.totals.failedStarts).toBe(1)
    expect(connectorSamples(messages, 'zn-super', 1).every((c) => c.power_w === 0)).toBe(true)
  })
})

describe('faults during a session', () => {
  test('an injected fault stops the session (reason Other) and energy; clearing it lets the driver leave', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
    const before = run(site, 120)
    site.injectFault('zn-super', 1, 'GroundFailure', 'insulation fault: coolant leak')
    const during = run(site, 120)
    expect(site.clearFault('zn-super', 1)).toBe(true)
    expect(site.clearFault('zn-super', 1)).toBe(false)
    const after = run(site, 600)

    expect(connectorSamples(before, 'zn-super', 1).at(-1)?.power_w).toBeGreaterThan(100_000)
    const faulted = during.find((m): m is StatusMessage => m.kind === 'status')
    expect(faulted?.payload).toMatchObject({
      status: 'Faulted',
      error_code: 'GroundFailure',
      vendor_error: 'insulation fault: coolant leak',
    })
    expect(sessionsOf(during)).toMatchObject([{ event: 'stopped', reason: 'Other' }])
    expect(connectorSamples(during, 'zn-super', 1).every((c) => c.power_w === 0)).toBe(true)
    expect(statusesOf(after, 'zn-super', 1)).toEqual(['Finishing:NoError', 'Available:NoError'])
    expect(site.totals.interruptedSessions).toBe(1)
  })

  test('a coolant leak (GroundFailure) strikes only the liquid-cooled gun, at its configured rate', () => {
    const config = quietBeibei((json) => {
      const leak = json.faults.hardFaults.find((f) => f.errorCode === 'GroundFailure')
      if (leak) leak.perConnectorPerDay = 24 // about once an hour
    })
    const messages = run(createSite(config, 3, JULY_NOON), 6 * 3600)
    const leaks = messages.filter(
      (m): m is StatusMessage => m.kind === 'status' && m.payload.error_code === 'GroundFailure',
    )
    expect(leaks.length).toBeGreaterThan(0)
    expect(new Set(leaks.map((m) => `${m.station}/${m.payload.connector}`))).toEqual(new Set(['zn-super/1']))
  })

  test('a failed coolant fan overheats the gun until it trips on HighTemperature, then recovers when cool', () => {
    const config = quietBeibei((json) => {
      json.faults.coolingFailure = {
        perGunPerDay: 1e6, // fails at once
        repairS: { min: 1800, max: 1800 },
        coolantToAmbientFactor: 10,
        pumpShare: 0, // the fan: the coolant still flows, so only its temperature gives it away
        flowFaultS: 3,
      }
    })
    const site = createSite(config, 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'li-mega', socPct: 10, targetSocPct: 100 })
    const messages = run(site, 2 * 3600)
    const statuses = statusesOf(messages, 'zn-super', 1)
    expect(statuses).toContain('Faulted:HighTemperature')
    const gun = config.stations[0]?.connectors[0]?.liquidCooling
    const samples = connectorSamples(messages, 'zn-super', 1)
    const tripIndex = samples.findIndex((c) => c.status === 'Faulted')
    expect(samples[tripIndex - 1]?.coolant_c).toBeGreaterThanOrEqual((gun?.coolantTripC ?? 0) - 0.1)
    // It comes back only after the repair and with the coolant below its reset temperature.
    const back = samples.findIndex((c, i) => i > tripIndex && c.status !== 'Faulted')
    expect(back).toBeGreaterThan(tripIndex)
    expect(samples[back]?.coolant_c).toBeLessThanOrEqual((gun?.coolantResetC ?? 0) + 0.1)
  })
})

describe('drivers', () => {
  test('a driver who comes back early stops the session before the target (reason Local)', () => {
    const config = quietBeibei((json) => {
      for (const cls of json.arrivalClasses) if (cls.id === 'supercharging') cls.initialOccupancy = 1
      json.sessions.leaveEarly = { probability: 1, afterS: { min: 300, max: 300 } }
      json.sessions.suspendedEv.probability = 0
      json.faults.startFailure.probability = 0
      json.faults.interruption.probability = 0
    })
    const messages = run(createSite(config, 1, JULY_NOON), 900)
    const stop = sessionsOf(messages).find((s) => s.event === 'stopped')
    expect(stop?.reason).toBe('Local')
    expect(stop?.soc_pct).toBeLessThan(80)
  })
})

describe('offline episodes', () => {
  test('the will fires, telemetry stops, events wait for the reconnection and sequence numbers skip the gap', () => {
    const site = createSite(quietBeibei(), 1, JULY_NOON)
    site.plugIn('kc-fast-1', 1, { vehicle: 'byd-han', socPct: 20, targetSocPct: 21 })
    const beforeSeq = (run(site, 5).findLast((m) => m.kind === 'telemetry' && m.station === 'kc-fast-1')
      ?.payload ?? { seq: 0 }) as { seq: number }
    site.disconnect('kc-fast-1', 300)
    const messages = run(site, 400)
    const own = messages.filter((m) => m.station === 'kc-fast-1')
    const lost = own.findIndex((m) => m.connection === 'lost')
    const restored = own.findIndex((m) => m.connection === 'restored')
    expect(own[lost]?.payload).toEqual({ online: false })
    expect(own[restored]?.payload).toMatchObject({ online: true })
    expect(own.slice(lost + 1, restored)).toEqual([])
    // The session ended while offline: its stop and status changes come right after the reconnection.
    const queued = own.slice(restored + 1).filter((m) => m.kind !== 'telemetry')
    expect(queued.map((m) => m.kind)).toEqual(expect.arrayContaining(['session', 'status']))
    const telemetry = own.filter((m) => m.kind === 'telemetry').map((m) => m.payload as { seq: number })
    // Offline from the first sample after the drop until 300 s later: 299 samples never published.
    expect((telemetry[0]?.seq ?? 0) - beforeSeq.seq).toBe(300)
    expect(messages.some((m) => m.station !== 'kc-fast-1' && m.connection)).toBe(false)
  })
})

describe('money', () => {
  test('a session costs the time-of-use energy price plus the service fee for each kWh', () => {
    const config = quietBeibei()
    // 12:00 on 15 July: critical peak (peak + 20%) in Chongqing.
    const site = createSite(config, 1, JULY_NOON)
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 10, targetSocPct: 50 })
    run(site, 900)
    const [session] = site.recentSessions
    const { energyPerKwh, criticalPeak, servicePerKwh } = config.tariff
    const pricePerKwh = energyPerKwh.peak * (1 + (criticalPeak?.upliftPct ?? 0) / 100) + servicePerKwh
    expect(session?.currency).toBe('CNY')
    expect(session?.cost).toBeCloseTo(((session?.energyWh ?? 0) / 1000) * pricePerKwh, 1)
    expect(site.totals.revenue).toBe(session?.cost)
  })

  test('the same energy at night costs the valley price', () => {
    const config = quietBeibei()
    const site = createSite(config, 1, Date.parse('2025-07-15T02:00:00+08:00'))
    site.plugIn('zn-super', 1, { vehicle: 'zeekr-001', socPct: 10, targetSocPct: 50 })
    run(site, 900)
    const [session] = site.recentSessions
    const { energyPerKwh, servicePerKwh } = config.tariff
    expect(session?.cost).toBeCloseTo(
      ((session?.energyWh ?? 0) / 1000) * (energyPerKwh.valley + servicePerKwh),
      1,
    )
  })
})

describe('the cost on the session event', () => {
  // 10:50 on 11 March (no critical peak that month): the session crosses 11:00, flat → peak.
  const START = Date.parse('2025-03-11T10:50:00+08:00')
  const UTC_OFFSET_MS = 8 * 3_600_000 // Chongqing: UTC+8 all year

  test('a session spanning a tariff boundary costs each kWh at the price of its own hour', () => {
    const config = quietBeibei()
    const site = createSite(config, 1, START)
    site.plugIn('kc-fast-1', 1, { vehicle: 'zeekr-001', socPct: 10, targetSocPct: 80 })
    const messages = run(site, 3600)
    const stopped = sessionsOf(messages).find((e) => e.event === 'stopped')
    const samples = connectorSamples(messages, 'kc-fast-1', 1)
    const times = messages
      .filter((m) => m.kind === 'telemetry' && m.station === 'kc-fast-1')
      .map((m) => (m.payload as { ts: number }).ts)

    // Priced here straight from the tariff file's hours: each sample's energy at the hour it was delivered.
    const { energyPerKwh, hours, servicePerKwh } = config.tariff
    const priceAt = (ts: number) => {
      const period = hours[new Date(ts + UTC_OFFSET_MS).getUTCHours()]
      return (period ? energyPerKwh[period] : Number.NaN) + servicePerKwh
    }
    let expected = 0
    let beforeBoundaryWh = 0
    samples.forEach((c, i) => {
      const deltaWh = c.energy_wh - (samples[i - 1]?.energy_wh ?? 0)
      const ts = times[i] as number
      expected += (deltaWh / 1000) * priceAt(ts)
      if (ts <= Date.parse('2025-03-11T11:00:00+08:00')) beforeBoundaryWh += deltaWh
    })

    expect(stopped?.reason).toBe('EVDisconnected')
    expect(stopped?.currency).toBe('CNY')
    // Both sides of 11:00 carry real energy, so a single price for the session would be visibly wrong.
    expect(beforeBoundaryWh).toBeGreaterThan(10_000)
    expect((stopped?.energy_wh ?? 0) - beforeBoundaryWh).toBeGreaterThan(10_000)
    expect(stopped?.cost).toBeCloseTo(expected, 1)
    const atPrice = (name: 'flat' | 'peak') =>
      ((stopped?.energy_wh ?? 0) / 1000) * (energyPerKwh[name] + servicePerKwh)
    expect(stopped?.cost).toBeGreaterThan(atPrice('flat') + 1)
    expect(stopped?.cost).toBeLessThan(atPrice('peak') - 1)
    // The event's cost is the ledger's, and it passes the MQTT contract.
    expect(site.recentSessions[0]?.cost).toBe(stopped?.cost)
    const message = messages.find((m) => m.kind === 'session' && m.payload === stopped)
    const decoded = decodeMessage(
      message?.topic ?? '',
      Buffer.from(JSON.stringify(stopped)),
      stopped?.ts ?? 0,
    )
    expect(decoded.ok).toBe(true)
  })
})

describe('air-cooled cabinets in the heat', () => {
  test('a traditional cabinet derates with its air temperature: full power on a 40 °C day, half at 75 °C inside', () => {
    const hot = (annualMeanC: number) =>
      quietBeibei((json) => {
        json.ambient = {
          annualMeanC,
          seasonalSwingC: 0,
          warmestDayOfYear: 200,
          dailySwingC: 0,
          warmestHour: 15,
        }
      })
    const powerAt = (annualMeanC: number) => {
      const site = createSite(hot(annualMeanC), 1, JULY_NOON)
      site.plugIn('kc-fast-1', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
      return Math.max(...connectorSamples(run(site, 120), 'kc-fast-1', 1).map((c) => c.power_w))
    }
    expect(powerAt(40)).toBe(160_000)
    // Ambient 73 °C plus the cabinet's own losses: the cabinet air passes 73 °C and power falls
    // towards half, following the cabinet temperature the telemetry reports.
    const site = createSite(hot(73), 1, JULY_NOON)
    site.plugIn('kc-fast-1', 1, { vehicle: 'zeekr-001', socPct: 20, targetSocPct: 80 })
    const messages = run(site, 1800)
    const station = telemetryOf(messages, 'kc-fast-1')
    const derating = [
      [55, 1],
      [75, 0.5],
    ] as const
    const factor = (c: number) =>
      c <= derating[0][0] ? 1 : c >= derating[1][0] ? 0.5 : 1 - (0.5 * (c - derating[0][0])) / 20
    station.slice(1).forEach((t, i) => {
      const cabinetC = station[i]?.meter.cabinet_temp_c ?? 0
      const power = t.connectors.find((c) => c.id === 1)?.power_w ?? 0
      // The previous sample's cabinet temperature (rounded to 0.1 °C) sets this sample's limit.
      expect(power).toBeLessThanOrEqual(160_000 * factor(cabinetC - 0.05) + 1)
    })
    const last = station.at(-1)
    expect(last?.meter.cabinet_temp_c).toBeGreaterThan(73)
    expect(last?.connectors.find((c) => c.id === 1)?.power_w).toBeLessThan(0.6 * 160_000)
  })
})
