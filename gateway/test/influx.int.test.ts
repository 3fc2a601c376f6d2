import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  loadConfig as ingestConfig,
  silentLogger,
  start as startIngest,
  type IngestHandle,
} from '@evmon/ingest'
import { afterEach, expect, inject, test } from 'vitest'
import { Stack } from './harness.ts'

const influxUrl = inject('influxUrl')
let stack: Stack | undefined
let ingest: IngestHandle | undefined
let dir: string | undefined
afterEach(async () => {
  await ingest?.close()
  await stack?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
  stack = ingest = dir = undefined
})

async function rows(db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: { error?: string; series?: { values: unknown[][] }[] }[] }
  if (body.results[0]?.error) throw new Error(body.results[0].error)
  return body.results[0]?.series?.[0]?.values ?? []
}

const iso = (ms: number) => new Date(ms).toISOString()

test('an OCPP 1.6J transaction lands in InfluxDB through ingest: readings once at their time, the session with its energy', async () => {
  stack = await Stack.start()
  dir = mkdtempSync(join(tmpdir(), 'evmon-gateway-ingest-'))
  const db = `evmon_gw_${randomBytes(4).toString('hex')}`
  ingest = await startIngest(
    {
      ...ingestConfig({}),
      mqttUrl: stack.broker.mqttUrl,
      influxUrl,
      influxDb: db,
      clientId: `ingest-${db}`,
      flushIntervalMs: 50,
      metricsPort: 0,
      deadLetterPath: join(dir, 'dead-letter.ndjson'),
      spoolDir: join(dir, 'spool'),
    },
    { logger: silentLogger },
  )
  const password = await stack.addCharger('beibei', 'KC-Fast-1', 'kc-fast-1')
  const cp = stack.charger('beibei', 'KC-Fast-1', password)
  await cp.connect()
  await cp.call('BootNotification', { chargePointVendor: 'Kehua', chargePointModel: 'KC-480' })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' })
  const t0 = Date.now() - 3_000
  const { transactionId } = (await cp.call('StartTransaction', {
    connectorId: 1,
    idTag: 'D',
    meterStart: 2_000_000,
    timestamp: iso(t0),
  })) as { transactionId: number }
  const t1 = Date.now() - 1_000
  await cp.call('MeterValues', {
    connectorId: 1,
    transactionId,
    meterValue: [
      {
        timestamp: iso(t1),
        sampledValue: [
          { value: '180.5', measurand: 'Power.Active.Import', unit: 'kW' },
          { value: '2000.5', measurand: 'Energy.Active.Import.Register', unit: 'kWh' },
        ],
      },
    ],
  })
  // Several sample periods carry the reading: it is stored once, at t1.
  await new Promise((r) => setTimeout(r, 1_000))
  const t2 = Date.now()
  await cp.call('StopTransaction', {
    transactionId,
    meterStop: 2_012_000,
    timestamp: iso(t2),
    reason: 'Local',
  })
  await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Finishing' })

  const deadline = Date.now() + 15_000
  let sessions: unknown[][] = []
  while (Date.now() < deadline) {
    sessions = await rows(
      db,
      `SELECT energy_wh, reason FROM event WHERE station = 'kc-fast-1' AND "type" = 'session_stopped'`,
    ).catch(() => [])
    if (sessions.length > 0) break
    await new Promise((r) => setTimeout(r, 100))
  }
  // The stop event, at the stop's time; energy = meterStop − meterStart, as the charger sent them.
  expect(sessions).toEqual([[t2, 12_000, 'Local']])
  const power = await rows(db, `SELECT power_w FROM connector WHERE station = 'kc-fast-1' AND power_w > 0`)
  expect(power).toEqual([[t1, 180_500]])
  const energy = await rows(
    db,
    `SELECT energy_wh FROM connector WHERE station = 'kc-fast-1' AND time = ${t1}ms`,
  )
  expect(energy).toEqual([[t1, 2_000_500]])
  const statuses = await rows(db, `SELECT status FROM event WHERE station = 'kc-fast-1' AND type = 'status'`)
  expect(statuses.map((r) => r[1])).toEqual(['Charging', 'Finishing'])
  // Ingest refused nothing the gateway published.
  expect(Object.values(ingest.stats().messagesRejected).every((n) => n === 0)).toBe(true)
  await cp.close()
})
