import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, expect, inject, test } from 'vitest'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { freePort } from './support/ports.ts'
import { repoRoot } from '../scripts/stack.ts'

// SIGTERM under load loses nothing. Ingest: the first ingest runs while InfluxDB is unreachable, so
// what it accepts goes to its spool; it is stopped with SIGTERM mid-stream; a second ingest, started
// the way the image starts it, replays the spool and the broker's queue. Every published point is
// stored once. Broker: stopped with SIGTERM while a slow subscriber is thousands of messages behind,
// it refuses new publishes and hands every message it acknowledged to that subscriber before exiting.
const influxUrl = inject('influxUrl')
const dir = mkdtempSync(join(tmpdir(), 'evmon-sigterm-'))
const children: ChildProcess[] = []
let broker: BrokerHandle | undefined
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await broker?.close()
  rmSync(dir, { recursive: true, force: true })
})

function ingest(env: Record<string, string>, output: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'ingest/src/main.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  children.push(child)
  return child
}

async function count(): Promise<number> {
  const q = encodeURIComponent('SELECT count(grid_power_w) FROM station')
  const body = (await (await fetch(`${influxUrl}/query?db=evmon_sigterm&q=${q}`)).json()) as {
    results: { series?: { values: [string, number][] }[] }[]
  }
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs: number, output: string[]) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}\n${output.join('').slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('SIGTERM under load loses nothing: the spool is replayed on restart', async () => {
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  const output: string[] = []
  const [statusA, statusB, deadInflux] = [await freePort(), await freePort(), await freePort()]
  const env = (influx: string, status: number) => ({
    EVMON_MQTT_URL: broker?.mqttUrl ?? '',
    EVMON_INFLUX_URL: influx,
    EVMON_INFLUX_DB: 'evmon_sigterm',
    EVMON_INGEST_CLIENT_ID: 'evmon-ingest-sigterm',
    EVMON_INGEST_SPOOL_DIR: join(dir, 'spool'),
    EVMON_INGEST_DEAD_LETTER: join(dir, 'dead-letter.ndjson'),
    EVMON_INGEST_METRICS_PORT: String(status),
    EVMON_INGEST_RETRY_MAX_MS: '500',
  })
  const first = ingest(env(`http://127.0.0.1:${deadInflux}`, statusA), output)
  const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  // Its metrics page is up before it has subscribed, and a message published before the first
  // subscription has no session to wait in; the gauge turns 1 only once the subscription is in place.
  await waitFor(
    async () => (await metrics(statusA).catch(() => '')).includes('evmon_ingest_mqtt_connected 1\n'),
    'the first ingest to subscribe',
    30_000,
    output,
  )

  const station = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'beibei.kc-ac' })
  const sent = 3_000
  const t0 = Date.now() - sent * 1000
  let published = 0
  const publishing = (async () => {
    for (; published < sent; published++) {
      const telemetry = {
        v: 1,
        ts: t0 + published * 1000,
        seq: published,
        meter: { grid_power_w: 7000, grid_energy_wh: published, aux_power_w: 30 },
        connectors: [
          {
            id: 1,
            status: 'Charging',
            power_w: 6900,
            offered_w: 7000,
            voltage_v: 220,
            current_a: 31.4,
            energy_wh: published,
          },
        ],
      }
      await station.publishAsync('evmon/v1/beibei/kc-ac/telemetry', JSON.stringify(telemetry), { qos: 1 })
      if (published % 50 === 0) await new Promise((r) => setTimeout(r, 10))
    }
  })()
  // Stop the first ingest while messages are still flowing and its points sit in the spool.
  await waitFor(
    async () => /evmon_ingest_points_spooled_total [1-9]/.test(await metrics(statusA)),
    'spooled points',
    30_000,
    output,
  )
  const exited = new Promise<number | null>((resolve) => first.once('exit', (code) => resolve(code)))
  first.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(published).toBeLessThan(sent)

  ingest(env(influxUrl, statusB), output)
  await publishing
  await station.endAsync()
  await waitFor(async () => (await count()) >= sent, `${sent} points in InfluxDB`, 60_000, output)
  expect(await count()).toBe(sent)
}, 150_000)

/** The broker as the image runs it, memory only (no Redis to hand anything to). */
async function brokerProcess(
  drainMs: number,
  output: string[],
): Promise<{ child: ChildProcess; url: string }> {
  const [mqttPort, wsPort, metricsPort] = [await freePort(), await freePort(), await freePort()]
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      EVMON_MQTT_PORT: String(mqttPort),
      EVMON_MQTT_WS_PORT: String(wsPort),
      EVMON_BROKER_METRICS_PORT: String(metricsPort),
      EVMON_BROKER_ALLOW_ANONYMOUS: 'true',
      EVMON_BROKER_DRAIN_MS: String(drainMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${metricsPort}/healthz`).catch(() => null))?.ok === true,
    'the broker',
    30_000,
    output,
  )
  return { child, url: `mqtt://127.0.0.1:${mqttPort}` }
}

/** A persistent subscriber whose acknowledgements wait for `ack`; returns the payloads it got. */
async function subscriber(url: string, ack: (done: () => void) => void) {
  const client = await mqtt.connectAsync(url, { clientId: 'slow-ingest', clean: false, reconnectPeriod: 0 })
  const received = new Set<number>()
  client.handleMessage = (packet, done) => {
    received.add(Number(packet.payload.toString()))
    ack(() => done())
  }
  await client.subscribeAsync('evmon/v1/#', { qos: 1 })
  return { client, received }
}

async function publishAll(url: string, sent: number) {
  const publisher = await mqtt.connectAsync(url, { clientId: 'beibei.kc-ac', reconnectPeriod: 0 })
  await Promise.all(
    Array.from({ length: sent }, (_, seq) =>
      publisher.publishAsync('evmon/v1/beibei/kc-ac/telemetry', String(seq), { qos: 1 }),
    ),
  )
  return publisher
}

test('a broker stopped with SIGTERM delivers every message it acknowledged and refuses new ones', async () => {
  const output: string[] = []
  const { child, url } = await brokerProcess(60_000, output)
  // A subscriber that takes a few milliseconds per message: the broker's queue for it runs deep.
  const { client, received } = await subscriber(url, (done) => setTimeout(done, 2))
  const sent = 3_000
  const publisher = await publishAll(url, sent)
  // Every message is acknowledged to the publisher; most still wait in the broker for the subscriber.
  expect(received.size).toBeLessThan(sent / 2)
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  // While draining, the broker takes no new message: the publisher keeps it to send again elsewhere.
  await new Promise((r) => setTimeout(r, 200))
  await expect(
    Promise.race([
      publisher.publishAsync('evmon/v1/beibei/kc-ac/telemetry', String(sent), { qos: 1 }),
      new Promise((_r, reject) => publisher.once('close', () => reject(new Error('closed')))),
    ]),
  ).rejects.toThrow()
  expect(await exited).toBe(0)
  expect(received.size).toBe(sent)
  expect(received.has(sent)).toBe(false)
  publisher.end(true)
  client.end(true)
}, 90_000)

test('a broker whose subscriber stops acknowledging still exits once the drain time is up', async () => {
  const output: string[] = []
  const drainMs = 1_000
  const { child, url } = await brokerProcess(drainMs, output)
  const { client } = await subscriber(url, () => {}) // never acknowledges
  const publisher = await publishAll(url, 500)
  const stoppedAt = Date.now()
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  expect(await exited).toBe(0)
  expect(Date.now() - stoppedAt).toBeLessThan(drainMs + 4_000)
  expect(output.join('')).toMatch(/closing with \d+ messages not handed over after 1000 ms/)
  publisher.end(true)
  client.end(true)
}, 60_000)
