import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'

// The site description over HTTP, from the repository's own site file through the real app.

const sitesDir = fileURLToPath(new URL('../../config/sites', import.meta.url))
const beibeiFile = () =>
  JSON.parse(readFileSync(join(sitesDir, 'beibei.json'), 'utf8')) as Record<string, unknown>
// What the simulator plays on the site, not what is built there: never part of the description.
const SCENARIO = ['holidays', 'ambient', 'faults', 'arrivalClasses']

let broker: BrokerHandle
let api: ApiHandle
let badDir: string

const config = (env: Record<string, string>) =>
  loadConfig({
    EVMON_HTTP_PORT: '0',
    EVMON_MQTT_URL: broker.mqttUrl,
    EVMON_INFLUX_URL: inject('influxUrl'),
    EVMON_LOG_LEVEL: 'silent',
    ...env,
  })

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  api = await start(config({ EVMON_SITES_DIR: sitesDir }))
  badDir = mkdtempSync(join(tmpdir(), 'evmon-api-sites-'))
})

afterAll(async () => {
  await api?.close()
  await broker?.close()
  rmSync(badDir, { recursive: true, force: true })
})

describe('GET /api/v1/sites/:id', () => {
  test('serves the site file’s description without a token: the file minus its scenario sections', async () => {
    const response = await fetch(`${api.url}/api/v1/sites/beibei`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as Record<string, unknown>
    const expected = beibeiFile()
    for (const key of SCENARIO) {
      expect(expected).toHaveProperty(key)
      delete expected[key]
    }
    expect(body).toEqual(expected)
    expect(body).toMatchObject({ id: 'beibei', timezone: 'Asia/Shanghai', tariff: { currency: 'CNY' } })
  })

  test('lists the sites it describes', async () => {
    const response = await fetch(`${api.url}/api/v1/sites`)
    expect(response.status).toBe(200)
    const { name, timezone } = beibeiFile()
    expect(await response.json()).toEqual({ sites: [{ id: 'beibei', name, timezone }] })
  })

  test('an unknown site is a 404 in the API’s error shape; a malformed id a 400', async () => {
    const response = await fetch(`${api.url}/api/v1/sites/nowhere`)
    expect(response.status).toBe(404)
    expect(await response.json()).toMatchObject({ statusCode: 404, error: 'Not Found', message: /nowhere/ })
    expect((await fetch(`${api.url}/api/v1/sites/NOT%20AN%20ID`)).status).toBe(400)
  })

  test('a bad site file stops start-up with an error naming the file and the path of each problem', async () => {
    const broken = beibeiFile() as { stations: { connectors: { maxPowerKw: unknown }[] }[]; tariff: object }
    ;(broken.stations[0] as { connectors: { maxPowerKw: unknown }[] }).connectors[0]!.maxPowerKw = 'fast'
    delete (broken.tariff as Record<string, unknown>).hours
    const file = join(badDir, 'broken.json')
    writeFileSync(file, JSON.stringify(broken))
    const failed = start(config({ EVMON_SITES_DIR: badDir }))
    await expect(failed).rejects.toThrow(new RegExp(`site file ${file.replace(/[.\\/]/g, '\\$&')}`))
    await expect(failed).rejects.toThrow('/stations/0/connectors/0/maxPowerKw')
    await expect(failed).rejects.toThrow('/tariff/hours')
  })
})

describe('the site’s own tariff', () => {
  test('the price drivers see is the site file’s tariff at the site’s local hour', async () => {
    const { tariff, timezone } = beibeiFile() as {
      timezone: string
      tariff: {
        energyPerKwh: Record<'valley' | 'flat' | 'peak', number>
        hours: ('valley' | 'flat' | 'peak')[]
        criticalPeak: { months: number[]; hours: number[]; upliftPct: number }
        servicePerKwh: number
      }
    }
    // Retried across an hour boundary: the answer and the expectation must see the same hour.
    for (let attempt = 0; ; attempt++) {
      const before = Date.now()
      const response = await fetch(`${api.url}/api/v1/availability?site=beibei`)
      const after = Date.now()
      const hourOf = (ms: number) =>
        Number(
          new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' }).format(
            ms,
          ),
        )
      if (hourOf(before) !== hourOf(after) && attempt < 3) continue
      expect(response.status).toBe(200)
      const { price } = (await response.json()) as { price: { period: string; total_per_kwh: number } }
      const hour = hourOf(before)
      const month = Number(
        new Intl.DateTimeFormat('en-US', { timeZone: timezone, month: 'numeric' }).format(before),
      )
      const critical = tariff.criticalPeak.months.includes(month) && tariff.criticalPeak.hours.includes(hour)
      const period = tariff.hours[hour] as 'valley' | 'flat' | 'peak'
      const energy = critical
        ? tariff.energyPerKwh.peak * (1 + tariff.criticalPeak.upliftPct / 100)
        : tariff.energyPerKwh[period]
      expect(price.period).toBe(critical ? 'critical_peak' : period)
      expect(price.total_per_kwh).toBeCloseTo(energy + tariff.servicePerKwh, 4)
      break
    }
  })
})
