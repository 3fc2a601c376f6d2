import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt from 'mqtt'
import { afterAll, expect, inject, test } from 'vitest'
import { parse } from 'yaml'
import { startMosquitto, type MosquittoHandle } from './support/mosquitto.ts'
import { freePorts, waitForHttp } from './support/ports.ts'
import { repoRoot } from '../scripts/stack.ts'

// The compose `scale` profile on this machine: mosquitto with the profile's own configuration and ACL,
// the two ingest replicas and the city-scale simulator started with the commands and environments the
// profile gives them. As in test/compose.int.test.ts, only what a container changes differs: hostnames
// are loopback, ports are free ones, container paths live in a temporary directory, secrets are made here.

interface ComposeService {
  profiles?: string[]
  command?: string[]
  environment?: Record<string, string>
}
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
}
const scale = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('scale'))
const runs = (entry: string) => scale.filter(([, s]) => s.command?.includes(entry))
const SIMULATED_S = 8
const influxUrl = new URL(inject('influxUrl'))

const dir = mkdtempSync(join(tmpdir(), 'evmon-scale-profile-'))
const children: ChildProcess[] = []
let mosquitto: MosquittoHandle | undefined
afterAll(async () => {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
  }
  await mosquitto?.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function influx(q: string, db: string): Promise<number> {
  const res = await fetch(`${influxUrl.origin}/query?db=${db}&q=${encodeURIComponent(q)}`)
  const body = (await res.json()) as { results: Array<{ series?: Array<{ values: unknown[][] }> }> }
  return Number(body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0)
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

test('the scale profile runs distinct ingest replicas in one share group and least-privilege mosquitto accounts', () => {
  const ingest = runs('ingest/src/main.ts')
  expect(ingest.length).toBeGreaterThanOrEqual(2)
  const env = ingest.map(([, s]) => s.environment ?? {})
  // One client id per replica: a second connection with the same id takes the first one's session over.
  expect(new Set(env.map((e) => e.EVMON_INGEST_CLIENT_ID)).size).toBe(ingest.length)
  expect(env.every((e) => e.EVMON_INGEST_CLIENT_ID !== undefined)).toBe(true)
  expect(new Set(env.map((e) => e.EVMON_INGEST_SHARE_GROUP))).toEqual(new Set(['evmon-ingest']))
  expect(env.every((e) => e.EVMON_MQTT_URL === 'mqtt://mosquitto:1883')).toBe(true)
  expect(runs('simulator/src/main.ts').map(([, s]) => s.environment?.EVMON_MQTT_URL)).toEqual([
    'mqtt://mosquitto:1883',
  ])
})

test('two ingest replicas behind mosquitto store every point the scale simulator publishes, across a replica restart', async () => {
  const users = { ingest: randomBytes(16).toString('hex'), simulator: randomBytes(16).toString('hex') }
  const secrets: Record<string, string> = {
    EVMON_INGEST_MQTT_PASSWORD: users.ingest,
    EVMON_SIM_MQTT_PASSWORD: users.simulator,
  }
  const db = `scale_profile_${randomBytes(4).toString('hex')}`
  const ingest = runs('ingest/src/main.ts')
  const [simulatorEntry] = runs('simulator/src/main.ts')
  const [mqttPort, simPort, ...ingestPorts] = await freePorts(2 + ingest.length)

  // mosquitto as the profile runs it: its configuration file, its ACL, the password file compose:init
  // writes, hashed the way the container's command hashes it.
  expect(readFileSync(join(repoRoot, 'scripts', 'compose-init.ts'), 'utf8')).toContain(
    'simulator:${secrets.EVMON_SIM_MQTT_PASSWORD}',
  )
  mosquitto = await startMosquitto({
    dir: join(dir, 'mosquitto'),
    port: mqttPort as number,
    users,
  })
  const mqttUrl = mosquitto.url

  const localise = (value: string, ownDir: string, port: number) =>
    value
      .replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_m, name: string) => secrets[name] ?? '')
      .replace('mqtt://mosquitto:1883', mqttUrl)
      .replace('http://influxdb:8086', influxUrl.origin)
      .replace(/^\/app\/var\//, `${ownDir}/`)
      .replace('127.0.0.1:9102', `127.0.0.1:${port}`)
      .replace('127.0.0.1:9103', `127.0.0.1:${simPort}`)
  const start = (name: string, service: ComposeService, port: number, extra: Record<string, string>) => {
    const ownDir = join(dir, name)
    const env = Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, localise(String(v), ownDir, port)]),
    )
    const [command, ...args] = service.command as [string, ...string[]]
    const output: string[] = []
    const child = spawn(command === 'node' ? process.execPath : command, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, ...env, EVMON_INFLUX_DB: db, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
    children.push(child)
    return { child, output, health: env.EVMON_HEALTH_URL as string }
  }
  const startIngest = async (i: number) => {
    const [name, service] = ingest[i] as [string, ComposeService]
    const port = ingestPorts[i] as number
    const replica = start(name, service, port, { EVMON_INGEST_METRICS_PORT: String(port) })
    await waitForHttp(replica.health, 30_000, name).catch((err: Error) => {
      throw new Error(`${err.message}\n${replica.output.join('')}\nmosquitto:\n${mosquitto?.log()}`)
    })
    return { ...replica, metrics: `http://127.0.0.1:${port}/metrics` }
  }
  const replicas = await Promise.all(ingest.map((_, i) => startIngest(i)))

  // An independent count from the raw messages: a plain (not shared) subscription with the ingest account.
  const expected = { telemetry: 0, connectors: 0 }
  const witness = await mqtt.connectAsync(mqttUrl, {
    username: 'ingest',
    password: users.ingest,
    protocolVersion: 5,
  })
  witness.on('message', (topic, payload) => {
    if (!topic.endsWith('/telemetry')) return
    expected.telemetry++
    expected.connectors += (JSON.parse(payload.toString()) as { connectors: unknown[] }).connectors.length
  })
  await witness.subscribeAsync('evmon/v1/#', { qos: 1 })
  // The ACL: the ingest account may read but not publish station messages.
  // (mosquitto answers MQTT 5 with a "not authorized" PUBACK, which mqtt.js may report as an error.)
  await witness.publishAsync('evmon/v1/beibei/forged/telemetry', '{}', { qos: 1 }).catch(() => undefined)

  const [simName, simService] = simulatorEntry as [string, ComposeService]
  const simulator = start(simName, simService, simPort as number, { EVMON_SIM_PORT: String(simPort) })
  await waitForHttp(simulator.health, 60_000, simName).catch((err: Error) => {
    throw new Error(`${err.message}\n${simulator.output.join('')}`)
  })
  // Half way through, one replica stops (SIGTERM: it writes and acknowledges what it has) and starts again.
  await new Promise((resolve) => setTimeout(resolve, (SIMULATED_S / 2) * 1000))
  const first = replicas[0] as (typeof replicas)[number]
  first.child.kill('SIGTERM')
  await new Promise((resolve) => first.child.once('exit', resolve))
  replicas[0] = await startIngest(0)
  await new Promise((resolve) => setTimeout(resolve, (SIMULATED_S / 2) * 1000))
  simulator.child.kill('SIGTERM')
  await new Promise((resolve) => simulator.child.once('exit', resolve))
  await new Promise((resolve) => setTimeout(resolve, 1_000)) // the witness's last deliveries

  expect(expected.telemetry).toBeGreaterThan(0)
  await waitUntil(
    `${expected.connectors} connector points stored`,
    async () => (await influx('SELECT count(power_w) FROM connector', db)) >= expected.connectors,
    60_000,
  )
  expect(await influx('SELECT count(power_w) FROM connector', db)).toBe(expected.connectors)
  expect(await influx('SELECT count(grid_power_w) FROM station', db)).toBe(expected.telemetry)
  expect(await influx(`SELECT count(grid_power_w) FROM station WHERE station = 'forged'`, db)).toBe(0)
  // Both replicas took a share of the stream, and neither connection was taken over by the other.
  for (const replica of replicas) {
    const text = await (await fetch(replica.metrics)).text()
    expect(Number(/^evmon_ingest_messages_received_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(0)
  }
  expect(mosquitto.log()).not.toMatch(/already connected/)
  await witness.endAsync()
}, 180_000)
