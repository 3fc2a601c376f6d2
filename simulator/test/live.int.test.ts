import { start as startBroker, type BrokerHandle } from '@evmon/broker'
import { decodeMessage, type DecodedMessage } from '@evmon/contracts'
import mqtt, { type MqttClient } from 'mqtt'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { parseConfig } from '../src/config.ts'
import { start, type SimulatorHandle } from '../src/live.ts'
import type { Logger } from '../src/publisher.ts'

const STATIONS = ['zn-super', 'kc-fast-1', 'kc-fast-2', 'kc-ac']
const silent: Logger = { info: () => {}, warn: () => {} }

interface Received {
  topic: string
  text: string
  retain: boolean
  decoded: DecodedMessage | undefined
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function subscribe(url: string, received: Received[]): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 })
  client.on('message', (topic, payload, packet) => {
    const ts = JSON.parse(payload.toString()).ts ?? Date.now()
    const result = decodeMessage(topic, payload, ts)
    received.push({
      topic,
      text: payload.toString(),
      retain: packet.retain,
      decoded: result.ok ? result.message : undefined,
    })
  })
  await client.subscribeAsync('evmon/v1/#', { qos: 1 })
  return client
}

describe('live mode against a real broker', () => {
  let broker: BrokerHandle
  let simulator: SimulatorHandle | undefined
  const clients: MqttClient[] = []

  beforeEach(async () => {
    broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', log: () => {} })
  })

  afterEach(async () => {
    await simulator?.close()
    simulator = undefined
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)))
    await broker.close()
  })

  const startSimulator = async (speed: number) => {
    const parsed = parseConfig(
      ['--url', broker.mqttUrl, '--speed', String(speed), '--seed', '5', '--state', 'off', '--port', '0'],
      {},
    )
    if (parsed.kind !== 'run') throw new Error(`bad test config: ${JSON.stringify(parsed)}`)
    simulator = await start(parsed.config, { log: silent })
    return simulator
  }

  test('each station announces itself retained and streams valid telemetry', async () => {
    await startSimulator(20)
    // Subscribe late on purpose: meta, online and status must be waiting as retained messages.
    await new Promise((r) => setTimeout(r, 500))
    const received: Received[] = []
    clients.push(await subscribe(broker.mqttUrl, received))

    const of = (station: string, kind: string) =>
      received.filter((r) => r.topic === `evmon/v1/beibei/${station}/${kind}`)
    await until(() => STATIONS.every((s) => of(s, 'telemetry').length >= 10), 'telemetry from every station')

    expect(received.every((r) => r.decoded !== undefined)).toBe(true)
    for (const station of STATIONS) {
      expect(of(station, 'meta').filter((r) => r.retain)).toHaveLength(1)
      expect(
        of(station, 'online')
          .filter((r) => r.retain)
          .map((r) => JSON.parse(r.text).online),
      ).toEqual([true])
      expect(of(station, 'status').some((r) => r.retain)).toBe(true)
      const seqs = of(station, 'telemetry').map((r) => JSON.parse(r.text).seq as number)
      seqs.slice(1).forEach((seq, i) => expect(seq).toBe((seqs[i] as number) + 1))
    }
    const gun = JSON.parse(of('zn-super', 'meta')[0]?.text ?? '{}').connectors[0]
    expect(gun).toMatchObject({ id: 1, liquid_cooled: true, max_power_w: 480_000, max_current_a: 670 })
  })

  test('a station whose connection drops abruptly gets its will published, then comes back online', async () => {
    const sim = await startSimulator(10)
    const received: Received[] = []
    clients.push(await subscribe(broker.mqttUrl, received))
    const online = () =>
      received.filter((r) => r.topic === 'evmon/v1/beibei/kc-ac/online').map((r) => JSON.parse(r.text))
    await until(() => online().some((o) => o.online === true), 'kc-ac online')

    sim.dropConnection('kc-ac')
    await until(() => online().some((o) => o.online === false), 'the will of kc-ac')
    expect(online().find((o) => o.online === false)).toEqual({ online: false })
    await until(() => online().filter((o) => o.online === true).length >= 2, 'kc-ac back online')

    const others = received.filter((r) => r.topic.endsWith('/online') && !r.topic.includes('/kc-ac/'))
    expect(others.every((r) => JSON.parse(r.text).online === true)).toBe(true)
  })

  test('closing marks every station offline and stops publishing, leaving the broker serving', async () => {
    const sim = await startSimulator(50)
    const received: Received[] = []
    clients.push(await subscribe(broker.mqttUrl, received))
    await until(() => received.filter((r) => r.topic.endsWith('/telemetry')).length >= 40, 'telemetry')

    await sim.close()
    await sim.close()
    const countAfterClose = received.filter((r) => r.topic.endsWith('/telemetry')).length
    await new Promise((r) => setTimeout(r, 300))
    expect(received.filter((r) => r.topic.endsWith('/telemetry')).length).toBe(countAfterClose)

    // A newcomer sees the retained state the simulator left behind: offline, with a time.
    const late: Received[] = []
    clients.push(await subscribe(broker.mqttUrl, late))
    await until(() => late.filter((r) => r.topic.endsWith('/online')).length === 4, 'retained online state')
    for (const r of late.filter((r) => r.topic.endsWith('/online'))) {
      expect(r.retain).toBe(true)
      expect(JSON.parse(r.text)).toEqual({ online: false, ts: sim.site.nowMs })
    }
  })
})
