import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { stationTopic, type Alert, type AlertFrame, type AlertsResponse } from '@evmon/contracts'
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest'
import WebSocket from 'ws'
import { loadConfig, start, type ApiHandle } from '../src/index.ts'
import { connectorSample, encode, stationMeta, telemetry } from './fixtures.ts'

// The alert stream end to end: a real aedes broker, stations as real MQTT clients, the API subscribed
// to the broker, and an operator watching `GET /api/v1/alerts/ws`. The API keeps its alerts in a file,
// so a restart of it can be tested too.

const SITE = 'alerts-site'
const OPERATOR = 'alerts-int-operator'
const INFLUX_DB = `api_alerts_${randomBytes(4).toString('hex')}`
const sha = (t: string) => createHash('sha256').update(t).digest('hex')

let broker: BrokerHandle
let api: ApiHandle
let alertsDir: string
const clients: mqtt.MqttClient[] = []

/** A station client; its last will (as the simulator's) marks it offline when the connection is lost. */
async function connectStation(station: string): Promise<mqtt.MqttClient> {
  const client = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: `alerts-int-${station}-${randomBytes(3).toString('hex')}`,
    reconnectPeriod: 0,
    will: {
      topic: stationTopic(SITE, station, 'online'),
      payload: encode({ online: false }),
      qos: 1,
      retain: true,
    },
  })
  clients.push(client)
  const publish = (kind: 'meta' | 'online' | 'telemetry', payload: unknown) =>
    client.publishAsync(stationTopic(SITE, station, kind), encode(payload), {
      qos: 1,
      retain: kind !== 'telemetry',
    })
  await publish('meta', stationMeta(station))
  await publish('online', { online: true, ts: Date.now() })
  await publish('telemetry', telemetry(Date.now(), 1, [connectorSample(1, 0), connectorSample(2, 0)]))
  return client
}

/** A connector's status, as a station publishes it (not retained, like OCPP StatusNotification). */
const publishStatus = (
  client: mqtt.MqttClient,
  station: string,
  ts: number,
  status: 'Faulted' | 'Available',
  errorCode: 'GroundFailure' | 'NoError',
) =>
  client.publishAsync(
    stationTopic(SITE, station, 'status'),
    encode({ ts, connector: 2, status, error_code: errorCode }),
    { qos: 1 },
  )

/** The API on the test's broker, InfluxDB database and alerts file, once it is subscribed to the broker. */
async function startApi(): Promise<ApiHandle> {
  const handle = await start(
    loadConfig({
      EVMON_HTTP_PORT: '0',
      EVMON_MQTT_URL: broker.mqttUrl,
      EVMON_INFLUX_URL: inject('influxUrl'),
      EVMON_INFLUX_DB: INFLUX_DB,
      EVMON_LOG_LEVEL: 'silent',
      EVMON_API_TOKENS: `operator:${sha(OPERATOR)}`,
      EVMON_API_ALERTS_FILE: join(alertsDir, 'alerts.json'),
    }),
  )
  await vi.waitFor(
    async () => {
      const health = (await (await fetch(`${handle.url}/healthz`)).json()) as { mqtt: { connected: boolean } }
      expect(health.mqtt.connected).toBe(true)
    },
    { timeout: 10_000 },
  )
  return handle
}

/** An operator's alert stream: every frame, in order; `alerts(type)` the alert frames of one type. */
async function watchAlerts(): Promise<{
  frames: AlertFrame[]
  alerts: (type: Alert['type']) => Alert[]
  close(): void
}> {
  const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/v1/alerts/ws?access_token=${OPERATOR}`)
  const frames: AlertFrame[] = []
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as AlertFrame))
  await vi.waitFor(() => expect(frames[0]?.type).toBe('alerts'), { timeout: 5_000 })
  return {
    frames,
    alerts: (type) => frames.flatMap((f) => (f.type === 'alert' && f.data.type === type ? [f.data] : [])),
    close: () => ws.close(),
  }
}

async function getAlerts(query = ''): Promise<AlertsResponse> {
  const response = await fetch(`${api.url}/api/v1/alerts${query}`, {
    headers: { authorization: `Bearer ${OPERATOR}` },
  })
  expect(response.status).toBe(200)
  return (await response.json()) as AlertsResponse
}

beforeAll(async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  alertsDir = await mkdtemp(join(tmpdir(), 'evmon-alerts-int-'))
  api = await startApi()
})

afterAll(async () => {
  for (const client of clients) client.end(true)
  await api?.close()
  await broker?.close()
  if (alertsDir !== undefined) await rm(alertsDir, { recursive: true, force: true })
})

describe('alert stream', () => {
  test('a connector fault is streamed with its start, severity and error code, and its end when cleared', async () => {
    const station = await connectStation('st-fault')
    const watcher = await watchAlerts()
    const faultAt = Date.now()
    await publishStatus(station, 'st-fault', faultAt, 'Faulted', 'GroundFailure')
    const faults = () => watcher.alerts('connector_faulted')
    await vi.waitFor(() => expect(faults()).toHaveLength(1), { timeout: 5_000 })
    const opened = faults()[0] as Alert
    expect(opened).toMatchObject({
      type: 'connector_faulted',
      severity: 'critical',
      site: SITE,
      station: 'st-fault',
      connector: 2,
      error_code: 'GroundFailure',
      started_at: faultAt,
      ended_at: null,
    })
    await publishStatus(station, 'st-fault', faultAt + 5_000, 'Available', 'NoError')
    await vi.waitFor(() => expect(faults()).toHaveLength(2), { timeout: 5_000 })
    expect(faults()[1]).toMatchObject({ id: opened.id, started_at: faultAt, ended_at: faultAt + 5_000 })
    watcher.close()
  })

  test("a station's lost connection is streamed as offline (its last will), and ends when it is back", async () => {
    const station = await connectStation('st-offline')
    const watcher = await watchAlerts()
    const lostAfter = Date.now()
    station.stream.destroy() // no DISCONNECT: the broker publishes the will
    const offlines = () => watcher.alerts('station_offline')
    await vi.waitFor(() => expect(offlines()).toHaveLength(1), { timeout: 5_000 })
    const offline = offlines()[0] as Alert
    expect(offline).toMatchObject({ severity: 'critical', site: SITE, station: 'st-offline', ended_at: null })
    expect(offline.started_at).toBeGreaterThanOrEqual(lostAfter)
    const open = await getAlerts(`?site=${SITE}&station=st-offline&active=true`)
    expect(open.alerts.map((a) => a.id)).toContain(offline.id)

    await connectStation('st-offline')
    await vi.waitFor(() => expect(offlines()).toHaveLength(2), { timeout: 5_000 })
    const ended = offlines()[1] as Alert
    expect(ended.id).toBe(offline.id)
    expect(ended.ended_at).toBeGreaterThanOrEqual(offline.started_at)
    const stillOpen = (await getAlerts(`?station=st-offline&active=true`)).alerts
    expect(stillOpen.filter((a) => a.type === 'station_offline')).toEqual([])
    watcher.close()
  })

  test('acknowledging needs an operator token; the acknowledgement is streamed and listed', async () => {
    const alert = (await getAlerts(`?site=${SITE}`)).alerts.find((a) => a.type === 'connector_faulted')
    if (alert === undefined) throw new Error('the tests above raise alerts')
    const ack = (headers: Record<string, string>) =>
      fetch(`${api.url}/api/v1/alerts/${alert.id}/ack`, { method: 'POST', headers })
    const anonymous = await ack({})
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ message: 'a bearer token is required' })
    expect((await ack({ authorization: 'Bearer not-a-token' })).status).toBe(401)
    expect(
      (await getAlerts(`?site=${SITE}`)).alerts.find((a) => a.id === alert.id)?.acknowledged_at,
    ).toBeNull()

    const watcher = await watchAlerts()
    const before = Date.now()
    const accepted = await ack({ authorization: `Bearer ${OPERATOR}` })
    expect(accepted.status).toBe(200)
    const body = (await accepted.json()) as Alert
    expect(body).toMatchObject({ id: alert.id, acknowledged_by: 'operator' })
    expect(body.acknowledged_at).toBeGreaterThanOrEqual(before)
    await vi.waitFor(() =>
      expect(watcher.alerts('connector_faulted')).toContainEqual(
        expect.objectContaining({ id: alert.id, acknowledged_by: 'operator' }),
      ),
    )
    const listed = (await getAlerts(`?site=${SITE}`)).alerts.find((a) => a.id === alert.id)
    expect(listed).toMatchObject({ acknowledged_by: 'operator', acknowledged_at: body.acknowledged_at })
    const unknown = await fetch(`${api.url}/api/v1/alerts/a-nope/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}` },
    })
    expect(unknown.status).toBe(404)
    watcher.close()
  })

  test('an open alert and its acknowledgement survive an API restart, and the alert still ends when cleared', async () => {
    const station = await connectStation('st-restart')
    const faultAt = Date.now()
    await publishStatus(station, 'st-restart', faultAt, 'Faulted', 'GroundFailure')
    const restartAlerts = async () => (await getAlerts('?station=st-restart')).alerts
    await vi.waitFor(async () => expect(await restartAlerts()).toHaveLength(1), { timeout: 5_000 })
    const [raised] = await restartAlerts()
    const ack = await fetch(`${api.url}/api/v1/alerts/${raised?.id}/ack`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OPERATOR}` },
    })
    expect(ack.status).toBe(200)
    const acknowledged = (await ack.json()) as Alert

    await api.close()
    api = await startApi()
    expect(await restartAlerts()).toEqual([acknowledged])
    expect(acknowledged).toMatchObject({ started_at: faultAt, ended_at: null, acknowledged_by: 'operator' })

    await publishStatus(station, 'st-restart', faultAt + 5_000, 'Available', 'NoError')
    await vi.waitFor(
      async () => expect(await restartAlerts()).toEqual([{ ...acknowledged, ended_at: faultAt + 5_000 }]),
      { timeout: 5_000 },
    )
  })
})
