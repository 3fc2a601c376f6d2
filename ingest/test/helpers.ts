import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Telemetry } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { loadConfig, type IngestConfig } from '../src/index.ts'

/** A config for one test: its own database, client id, dead-letter file and spool, fast flushes, port 0. */
export function testConfig(
  influxUrl: string,
  mqttUrl: string,
  overrides: Partial<IngestConfig> = {},
): IngestConfig {
  const id = randomBytes(4).toString('hex')
  const dir = mkdtempSync(join(tmpdir(), 'evmon-ingest-'))
  return {
    ...loadConfig({}),
    mqttUrl,
    influxUrl,
    influxDb: `evmon_test_${id}`,
    clientId: `evmon-ingest-test-${id}`,
    connectTimeoutMs: 5_000,
    flushIntervalMs: 50,
    retryInitialMs: 20,
    retryMaxMs: 200,
    closeTimeoutMs: 5_000,
    metricsPort: 0,
    deadLetterPath: join(dir, 'dead-letter.ndjson'),
    spoolDir: join(dir, 'spool'),
    ...overrides,
  }
}

/** Rows of the first series of an InfluxQL query, times in ms. */
export async function query(influxUrl: string, db: string, q: string): Promise<unknown[][]> {
  const res = await fetch(`${influxUrl}/query?db=${db}&epoch=ms&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: { error?: string; series?: { values: unknown[][] }[] }[] }
  const result = body.results[0]
  if (result?.error) throw new Error(result.error)
  return result?.series?.[0]?.values ?? []
}

/** Polls until `check` holds, failing with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function publisher(mqttUrl: string): Promise<MqttClient> {
  return mqtt.connectAsync(mqttUrl, { clientId: `pub-${randomBytes(4).toString('hex')}` })
}

/** A valid telemetry payload with two connectors whose values derive from `seq`. */
export function telemetry(ts: number, seq: number, energyBaseWh = 1_000_000): Telemetry {
  return {
    v: 1,
    ts,
    seq,
    meter: { grid_power_w: 400_000 + seq, grid_energy_wh: energyBaseWh + seq * 100, aux_power_w: 2_100.5 },
    connectors: [
      {
        id: 1,
        status: 'Charging',
        power_w: 350_000 + seq,
        offered_w: 480_000,
        voltage_v: 768.2,
        current_a: 455.6,
        energy_wh: energyBaseWh + seq * 90,
        soc_pct: (seq % 100) + 0.5,
        session: `s-${seq}`,
      },
      {
        id: 2,
        status: 'Available',
        power_w: 0,
        offered_w: 0,
        voltage_v: 0,
        current_a: 0,
        energy_wh: energyBaseWh,
      },
    ],
  }
}

/** A TCP forwarder to `target` that can be taken down and brought back on the same port. */
export interface TcpProxy {
  url: string
  up(): Promise<void>
  down(): Promise<void>
}

export async function tcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target)
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
  const sockets = new Set<Socket>()
  let server: Server | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    up: () =>
      new Promise((resolve, reject) => {
        server = createServer((client) => {
          const upstream = connect(Number(targetPort), hostname)
          for (const s of [client, upstream]) {
            sockets.add(s)
            s.on('close', () => sockets.delete(s))
            s.on('error', () => s.destroy())
          }
          client.pipe(upstream).pipe(client)
        })
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => resolve())
      }),
    down: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        if (!server) return resolve()
        server.close(() => resolve())
      }),
  }
}

/** Parsed entries of an NDJSON dead-letter file. */
export async function readDeadLetters(path: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(path, 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}
