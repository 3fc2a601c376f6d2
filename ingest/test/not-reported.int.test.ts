import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic, type Telemetry } from '@evmon/contracts'
import type { MqttClient } from 'mqtt'
import { afterEach, beforeEach, expect, inject, test } from 'vitest'
import { silentLogger, start, type IngestHandle } from '../src/index.ts'
import { publisher, query, testConfig, waitFor } from './helpers.ts'

// What a charger connected over OCPP through the gateway sends: no grid meter, no auxiliary load, no
// offered power, voltage or current, and meter readings taken every 10–60 s carried into each sample
// with their own time. None of it may turn into a stored 0 or into repeated measurements.

const influxUrl = inject('influxUrl')

let broker: BrokerHandle
let ingest: IngestHandle | undefined
let pub: MqttClient

beforeEach(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  pub = await publisher(broker.mqttUrl)
})

afterEach(async () => {
  await ingest?.close()
  ingest = undefined
  await pub.endAsync()
  await broker.close()
})

test('an OCPP-shaped sample stores what it carries, at the time it was measured, and no zeros', async () => {
  const config = testConfig(influxUrl, broker.mqttUrl)
  ingest = await start(config, { logger: silentLogger })
  const t0 = Date.now() - 600_000
  const sample = (ts: number, seq: number, connectors: Telemetry['connectors']): Telemetry => ({
    v: 1,
    ts,
    seq,
    meter: {},
    connectors,
  })
  const messages = [
    // Fresh readings from a MeterValues: power and the register only.
    sample(t0, 0, [
      { id: 1, status: 'Charging', power_w: 7_200, energy_wh: 1_000 },
      { id: 2, status: 'Available' },
    ]),
    // The next two samples carry the same readings, held, with the time they were measured.
    sample(t0 + 1_000, 1, [
      { id: 1, status: 'Charging', power_w: 7_200, energy_wh: 1_000, measured_at: t0 },
      { id: 2, status: 'Available' },
    ]),
    sample(t0 + 2_000, 2, [
      { id: 1, status: 'Finishing', power_w: 7_200, energy_wh: 1_000, measured_at: t0 },
      { id: 2, status: 'Preparing' },
    ]),
  ]
  for (const m of messages)
    await pub.publishAsync(stationTopic('beibei', 'cs-abb-00001', 'telemetry'), JSON.stringify(m), { qos: 1 })
  await waitFor(() => ingest!.stats().messagesReceived === 3 && ingest!.stats().unackedMessages === 0, 'acks')

  const db = config.influxDb
  // No grid meter: no station point at all (an empty one would be refused; a zero one would lie).
  expect(await query(influxUrl, db, 'SELECT * FROM station')).toEqual([])
  const rows = await query(
    influxUrl,
    db,
    "SELECT connector, power_w, offered_w, voltage_v, current_a, energy_wh, status, occupied FROM connector WHERE station = 'cs-abb-00001'",
  )
  expect(rows).toEqual([
    [t0, '1', 7_200, null, null, null, 1_000, 'Charging', 1],
    [t0, '2', null, null, null, null, null, 'Available', 0],
    [t0 + 1_000, '1', null, null, null, null, null, 'Charging', 1],
    [t0 + 1_000, '2', null, null, null, null, null, 'Available', 0],
    [t0 + 2_000, '1', null, null, null, null, null, 'Finishing', 1],
    [t0 + 2_000, '2', null, null, null, null, null, 'Preparing', 1],
  ])
  // The held reading is one measurement, so the power mean over the samples is that reading.
  const [[, meanPower, count]] = (await query(
    influxUrl,
    db,
    "SELECT mean(power_w), count(power_w) FROM connector WHERE station = 'cs-abb-00001' AND connector = '1'",
  )) as [[number, number, number]]
  expect([meanPower, count]).toEqual([7_200, 1])
  expect(ingest.stats()).toMatchObject({
    pointsDeadLettered: { beyond_retention: 0, write_rejected: 0 },
    writeErrors: 0,
  })
})
