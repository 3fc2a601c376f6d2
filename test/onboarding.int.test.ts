import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { Credentials } from '@evmon/broker'
import { freePorts, waitForHttp } from './support/ports.ts'
import { repoRoot } from '../scripts/stack.ts'

// Onboarding without a restart, as an operator does it: the broker runs as its own process, the
// account is added and removed with the broker's CLI, and the station is played by mosquitto's own
// clients. A new station publishes the moment the command returns; a removed one is cut off at once.
const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'evmon-onboarding-'))
const file = join(dir, 'credentials.json')
const children: ChildProcess[] = []
let mqttPort = 0
let metricsPort = 0
let ingestSecret = ''

for (const tool of ['mosquitto_pub', 'mosquitto_sub']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
    throw new Error(`${tool} is missing: apt-get install -y mosquitto-clients (npm test installs it)`)
}

beforeAll(async () => {
  const credentials = Credentials.empty()
  ingestSecret = await credentials.issue('ingest')
  credentials.save(file)
  const [mqtt, ws, metrics] = await freePorts(3)
  mqttPort = mqtt as number
  metricsPort = metrics as number
  const broker = spawn(process.execPath, ['--import', 'tsx', 'broker/src/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      EVMON_MQTT_PORT: String(mqtt),
      EVMON_MQTT_WS_PORT: String(ws),
      EVMON_BROKER_METRICS_PORT: String(metrics),
      EVMON_BROKER_CREDENTIALS: file,
    },
    stdio: 'ignore',
  })
  children.push(broker)
  await waitForHttp(`http://127.0.0.1:${metrics}/healthz`, 30_000, 'broker')
})
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

/** `npm run broker -- <args>` against this broker's credentials file. */
async function brokerCli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'broker/src/main.ts', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, EVMON_BROKER_CREDENTIALS: file },
  })
  return stdout
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  return Number(line?.split(' ').at(-1))
}

const stationArgs = (secret: string) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(mqttPort),
  '-i',
  'beibei.new-dc',
  '-u',
  'beibei/new-dc',
  '-P',
  secret,
]

test('a station added with the CLI publishes at once; removed, it is cut off and cannot come back', async () => {
  const ingest = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    clientId: 'onboarding-watch',
    username: 'ingest',
    password: ingestSecret,
  })
  const seen: string[] = []
  ingest.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`))
  await ingest.subscribeAsync('evmon/v1/beibei/new-dc/#', { qos: 1 })

  const added = await brokerCli('add-station', 'beibei/new-dc')
  const secret = /^password: (\S+)$/m.exec(added)?.[1] as string
  expect(secret).toBeTruthy()
  // No pause between the command and the first publish.
  await run('mosquitto_pub', [
    ...stationArgs(secret),
    '-q',
    '1',
    '-t',
    'evmon/v1/beibei/new-dc/online',
    '-m',
    '{"v":1,"online":true}',
  ])
  const deadline = Date.now() + 5_000
  while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  expect(seen).toEqual(['evmon/v1/beibei/new-dc/online {"v":1,"online":true}'])

  // Counted before the station starts, so a connection faster than the first read is not missed.
  const connectedBefore = await metric('evmon_broker_clients_connected')
  // The station stays connected (listening for commands), as a charger does.
  const station = spawn('mosquitto_sub', [
    ...stationArgs(secret),
    '-q',
    '1',
    '-t',
    'evmon/v1/beibei/new-dc/cmd/reset',
  ])
  children.push(station)
  let output = ''
  station.stdout.on('data', (d: Buffer) => (output += d.toString()))
  station.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const connectedDeadline = Date.now() + 5_000
  while ((await metric('evmon_broker_clients_connected')) <= connectedBefore) {
    if (Date.now() > connectedDeadline) throw new Error(`the station did not connect: ${output}`)
    await new Promise((r) => setTimeout(r, 20))
  }

  const exited = new Promise<number | null>((resolve) => station.once('exit', resolve))
  expect(await brokerCli('remove', 'beibei/new-dc')).toContain('removed beibei/new-dc')
  const removedAt = Date.now()
  while ((await metric('evmon_broker_clients_connected')) !== connectedBefore) {
    if (Date.now() - removedAt > 5_000) throw new Error('the removed station is still connected')
    await new Promise((r) => setTimeout(r, 10))
  }
  const cutOffMs = Date.now() - removedAt
  expect(cutOffMs, 'connection closed this long after the command returned').toBeLessThan(1_000)
  expect(await metric('evmon_broker_sessions_revoked_total')).toBe(1)
  // mosquitto_sub reconnects a second later, and gives up on the refusal.
  expect(await exited).not.toBe(0)
  expect(output).toMatch(/bad user name or password/i)

  const again = await run('mosquitto_pub', [
    ...stationArgs(secret),
    '-q',
    '1',
    '-t',
    'evmon/v1/beibei/new-dc/online',
    '-m',
    '{"v":1,"online":true}',
  ]).catch((err: { code: number; stderr: string }) => err)
  expect('code' in again && again.code).not.toBe(0)
  expect(seen).toHaveLength(1)
  await ingest.endAsync()
}, 60_000)
