import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { ALL_STATIONS_FILTER, decodeMessage, type DecodedMessage } from '@evmon/contracts'
import { Chargers, start as startGateway, type GatewayHandle } from '@evmon/gateway'
import { parseConfig, start as startSimulator, type SimulatorHandle } from '@evmon/simulator'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect, test } from 'vitest'

// The simulator playing the Beibei site with kc-fast-1 as an OCPP 1.6J charger and kc-fast-2 as an
// OCPP 2.0.1 charger, through the real gateway, real ocpp-rpc on both ends and a real aedes broker:
// what comes out on MQTT must be the contract, for both protocols, next to zn-super on MQTT itself.

let dir: string
let broker: BrokerHandle
let gateway: GatewayHandle
let simulator: SimulatorHandle
let subscriber: MqttClient
const messages: DecodedMessage[] = []
const rejected: string[] = []
const gatewayLog: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'evmon-gw-sim-'))
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  subscriber = await mqtt.connectAsync(broker.mqttUrl, { clientId: `gw-sim-sub-${Date.now()}` })
  await subscriber.subscribeAsync(ALL_STATIONS_FILTER, { qos: 1 })
  subscriber.on('message', (topic, payload) => {
    const decoded = decodeMessage(topic, payload, Date.now())
    if (decoded.ok) messages.push(decoded.message)
    else rejected.push(`${topic}: ${decoded.reason} ${decoded.detail}`)
  })
  const chargersFile = join(dir, 'chargers.json')
  const chargers = Chargers.empty()
  const passwords: Record<string, string> = {}
  for (const identity of ['KC-FAST-1', 'KC-FAST-2'])
    passwords[identity] = (await chargers.add('beibei', identity)).password
  await chargers.save(chargersFile)
  const passwordsFile = join(dir, 'ocpp-passwords.json')
  writeFileSync(passwordsFile, JSON.stringify(passwords), { mode: 0o600 })
  gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    chargersFile,
    stateFile: join(dir, 'state.json'),
    mqttUrl: broker.mqttUrl,
    sampleIntervalMs: 1_000,
    staleAfterMs: 60_000,
    heartbeatIntervalS: 60,
    authorize: { kind: 'accept-all' },
    // Asked of each charger at boot (ChangeConfiguration / SetVariables), so the test need not wait 10 s.
    meterIntervalS: 1,
    maxFrameBytes: 64 * 1024,
    callRatePerS: 50,
    callBurst: 200,
    log: (line) => gatewayLog.push(line),
  })
  const parsed = parseConfig(
    [
      '--url',
      broker.mqttUrl,
      '--protocol',
      'kc-fast-1=ocpp1.6,kc-fast-2=ocpp2.0.1',
      '--ocpp-url',
      gateway.ocppUrl,
      '--ocpp-passwords',
      passwordsFile,
      '--port',
      '0',
      '--state',
      'off',
    ],
    {},
  )
  if (parsed.kind !== 'run') throw new Error(`simulator config: ${JSON.stringify(parsed)}`)
  simulator = await startSimulator(parsed.config, {
    log: { info: () => {}, warn: (m) => gatewayLog.push(m) },
  })
  // A car on each charger: a session (after the simulated drivers' ≈30 s of plugging in and
  // authorising), meter values and status changes on every protocol.
  for (const station of ['kc-fast-1', 'kc-fast-2']) {
    const free = simulator.site.describe().find((s) => s.id === station)
    for (const c of free?.connectors ?? []) {
      if (c.status === 'Available') {
        simulator.site.plugIn(station, c.id, { vehicle: 'byd-han', socPct: 30, targetSocPct: 90 })
        break
      }
    }
  }
}, 60_000)

afterAll(async () => {
  await simulator?.close()
  await gateway?.close()
  await subscriber?.endAsync()
  await broker?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function until<T>(what: string, find: () => T | undefined | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = find()
    if (found) return found
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}\n${gatewayLog.slice(-15).join('\n')}\n${rejected.join('\n')}`,
      )
    await new Promise((r) => setTimeout(r, 50))
  }
}

const of = (station: string, kind: DecodedMessage['kind']) =>
  messages.filter((m) => m.station === station && m.kind === kind)

test.each([
  ['kc-fast-1', 'KC-FAST-1', 'ocpp1.6'],
  ['kc-fast-2', 'KC-FAST-2', 'ocpp2.0.1'],
])(
  '%s comes out as a station through the gateway, as an %s charger',
  async (station, identity, protocol) => {
    const meta = await until(`${station} meta`, () => of(station, 'meta').at(-1))
    expect(meta.kind === 'meta' && meta.payload.ocpp).toMatchObject({ identity, protocol, vendor: 'evmon' })
    await until(`${station} online`, () =>
      of(station, 'online').find((m) => m.kind === 'online' && m.payload.online),
    )
    const started = await until(`${station} session start`, () =>
      of(station, 'session').find((m) => m.kind === 'session' && m.payload.event === 'started'),
    )
    const connector = started.kind === 'session' ? started.payload.connector : -1
    // Meter values every second (the interval the gateway asked for): power, register, SoC, V, A.
    const charging = await until(`${station} charging telemetry`, () =>
      of(station, 'telemetry')
        .map((m) =>
          m.kind === 'telemetry' ? m.payload.connectors.find((c) => c.id === connector) : undefined,
        )
        .find((c) => c?.status === 'Charging' && (c.power_w ?? 0) > 0 && c.soc_pct !== undefined),
    )
    expect(charging).toMatchObject({ status: 'Charging' })
    expect(charging?.energy_wh).toBeGreaterThan(0)
    expect(charging?.voltage_v).toBeGreaterThan(0)
    expect(charging?.current_a).toBeGreaterThan(0)
    // What OCPP cannot carry is absent, never made up: coolant temperature.
    expect(charging?.coolant_c).toBeUndefined()
  },
  120_000,
)

test('zn-super stays on MQTT, and nothing the gateway published fails the contract', async () => {
  const meta = await until('zn-super meta', () => of('zn-super', 'meta').at(-1))
  expect(meta.kind === 'meta' && meta.payload.ocpp).toBeUndefined()
  await until('zn-super telemetry', () => of('zn-super', 'telemetry').at(-1))
  expect(rejected).toEqual([])
})

test('a charger whose connection drops is offline, then reconnects and boots by itself', async () => {
  const onlineFlags = () =>
    of('kc-fast-2', 'online').map((m) => (m.kind === 'online' ? m.payload.online : undefined))
  const before = onlineFlags().length
  simulator.dropConnection('kc-fast-2')
  await until('kc-fast-2 offline', () => onlineFlags().slice(before).includes(false))
  const offlineAt = before + onlineFlags().slice(before).indexOf(false)
  await until('kc-fast-2 online again', () => onlineFlags().slice(offlineAt).includes(true))
  const telemetryBefore = of('kc-fast-2', 'telemetry').length
  await until('kc-fast-2 telemetry again', () => of('kc-fast-2', 'telemetry').length > telemetryBefore)
}, 60_000)
