import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ALL_STATIONS_FILTER, parseStationTopic } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, expect, test } from 'vitest'
import { freePorts, waitForHttp } from '../../test/support/ports.ts'
import { startRedis, type RedisHandle } from '../../test/support/redis.ts'
import { repoRoot } from '../../scripts/stack.ts'
import { stationMessage } from '../src/messages.ts'
import { createPublisher, type Logger, type MqttPublisher } from '../src/publisher.ts'

// The simulator's publisher through broker restarts, as `npm start` runs them: the broker in its own
// process on Redis, SIGTERMed (graceful drain) and SIGKILLed while the stations publish, each time
// brought back on the same port. A persistent subscriber (clean: false, as ingest) must receive every
// sequence number of every station: what the broker acknowledged is in its Redis queue, and what it
// did not the stations publish again, including the messages mqtt.js fails with `Connection closed`
// when the connection drops while it is still resending its backlog after a reconnect.
const STATIONS = Array.from({ length: 20 }, (_, i) => `st-${i + 1}`)
const SITE = 'restart'
const TICK_MS = 20
const RECONNECT_MS = 200

const dir = mkdtempSync(join(tmpdir(), 'evmon-sim-restart-'))
const children = new Set<ChildProcess>()
let redis: RedisHandle | undefined
let subscriber: MqttClient | undefined
let publisher: MqttPublisher | undefined
afterAll(async () => {
  await publisher?.close(Date.now(), 0)
  subscriber?.end(true)
  for (const child of children) child.kill('SIGKILL')
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const brokerLog: string[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('a publisher loses nothing when the broker is SIGTERMed and SIGKILLed while it publishes', async () => {
  redis = await startRedis({ dir: join(dir, 'redis') })
  const [mqttPort, wsPort, metricsPort] = (await freePorts(3)) as [number, number, number]
  const url = `mqtt://127.0.0.1:${mqttPort}`
  const startBroker = async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        EVMON_LOG_LEVEL: 'warn',
        EVMON_MQTT_PORT: String(mqttPort),
        EVMON_MQTT_WS_PORT: String(wsPort),
        EVMON_BROKER_METRICS_PORT: String(metricsPort),
        EVMON_BROKER_ALLOW_ANONYMOUS: 'true',
        EVMON_REDIS_URL: redis?.url ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    for (const stream of [child.stdout, child.stderr])
      stream?.on('data', (d: Buffer) => brokerLog.push(...d.toString().trim().split('\n')))
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        children.delete(child)
        resolve(code)
      }),
    )
    await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, 60_000, 'broker').catch((err: Error) => {
      throw new Error(`${err.message}\n${brokerLog.slice(-20).join('\n')}`)
    })
    return { child, exited }
  }
  // Until the stations are back on the restarted broker (and resending what they hold).
  const clientsConnected = async (atLeast: number) => {
    for (;;) {
      const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), String)
      const n = Number(/^evmon_broker_clients_connected (\d+)$/m.exec(text)?.[1] ?? 0)
      if (n >= atLeast) return
      await sleep(5)
    }
  }

  let broker = await startBroker()
  // The persistent subscriber: its session and queue live in Redis across broker restarts.
  const received = new Map<string, Set<number>>()
  subscriber = await mqtt.connectAsync(url, {
    clientId: 'restart-subscriber',
    clean: false,
    reconnectPeriod: 100,
  })
  subscriber.on('message', (topic, payload) => {
    const parsed = parseStationTopic(topic)
    if (!parsed.ok || parsed.topic.kind !== 'telemetry') return
    const seq = (JSON.parse(payload.toString()) as { seq: number }).seq
    let seen = received.get(parsed.topic.station)
    if (!seen) received.set(parsed.topic.station, (seen = new Set()))
    seen.add(seq)
  })
  await subscriber.subscribeAsync(ALL_STATIONS_FILTER, { qos: 1 })

  const warnings: string[] = []
  const log: Logger = { info: () => {}, warn: (line) => warnings.push(line) }
  publisher = createPublisher({
    url,
    site: SITE,
    stations: STATIONS,
    nowMs: () => Date.now(),
    reconnectPeriodMs: RECONNECT_MS,
    connectTimeoutMs: 5_000,
    connectsPerSecond: 1_000,
    maxConnectsPending: STATIONS.length,
    maxStationsLoggedEach: STATIONS.length,
    summaryIntervalMs: 60_000,
    log,
  })
  await publisher.allConnected()

  // Every station publishes a sample each tick, numbered, until told to stop.
  let sent = 0
  let stop = false
  const publishing = (async () => {
    for (let seq = 0; !stop; seq++) {
      for (const station of STATIONS) {
        publisher?.publish(
          stationMessage(SITE, station, 'telemetry', {
            v: 1,
            ts: Date.now(),
            seq,
            meter: { grid_power_w: 1_000, grid_energy_wh: 1_000 + seq, aux_power_w: 10 },
            connectors: [],
          }),
        )
      }
      sent = seq + 1
      await sleep(TICK_MS)
    }
  })()

  for (const signal of ['SIGTERM', 'SIGKILL', 'SIGTERM', 'SIGKILL'] as const) {
    await sleep(1_000)
    broker.child.kill(signal)
    const code = await broker.exited
    if (signal === 'SIGTERM') expect(code).toBe(0)
    // Down long enough for every station to hold a backlog it must resend.
    await sleep(1_000)
    broker = await startBroker()
    // And once the stations are back, down again at once: the connection drops while mqtt.js is
    // still resending that backlog, and fails what it had queued behind it.
    await clientsConnected(STATIONS.length / 2)
    broker.child.kill('SIGKILL')
    await broker.exited
    broker = await startBroker()
  }
  await sleep(1_000)
  stop = true
  await publishing

  // Every publish ends acknowledged, none given up.
  const deadline = Date.now() + 60_000
  while (publisher.inFlight > 0 && Date.now() < deadline) await sleep(100)
  expect(publisher.inFlight).toBe(0)
  expect(publisher.abandoned).toBe(0)
  // And every sample reached the persistent subscriber.
  const missing = () =>
    STATIONS.flatMap((station) =>
      Array.from({ length: sent }, (_, seq) => seq)
        .filter((seq) => !received.get(station)?.has(seq))
        .map((seq) => `${station}#${seq}`),
    )
  while (missing().length > 0 && Date.now() < deadline) await sleep(100)
  console.log(
    `${sent * STATIONS.length} samples, ${publisher.republished} published again after mqtt.js failed them`,
  )
  expect(missing(), warnings.slice(0, 20).join('\n')).toEqual([])
  await publisher.close(Date.now(), 5_000)
  publisher = undefined
}, 180_000)
