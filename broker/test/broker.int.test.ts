import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import WebSocket from 'ws'
import { afterEach, expect, test, vi } from 'vitest'
import { start, type BrokerHandle } from '../src/index.ts'

const run = promisify(execFile)
let broker: BrokerHandle | undefined
afterEach(async () => {
  await broker?.close()
  broker = undefined
})

const local = { host: '127.0.0.1', mqttPort: 0, wsPort: 0, wsPath: '/mqtt', metricsPort: 0 }

test('a message published over TCP reaches a subscriber connected over WebSocket', async () => {
  broker = await start(local)
  const sub = await mqtt.connectAsync(broker.wsUrl, { clientId: 'ws-sub' })
  await sub.subscribeAsync('evmon/v1/#', { qos: 1 })
  const received = new Promise<[string, string]>((resolve) =>
    sub.on('message', (topic, payload) => resolve([topic, payload.toString()])),
  )
  const pub = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'tcp-pub' })
  await pub.publishAsync('evmon/v1/beibei/zn-super/online', '{"online":true}', { qos: 1 })
  expect(await received).toEqual(['evmon/v1/beibei/zn-super/online', '{"online":true}'])
  await Promise.all([sub.endAsync(), pub.endAsync()])
})

test('a connection that drops without DISCONNECT fires its retained last will', async () => {
  broker = await start(local)
  const station = await mqtt.connectAsync(broker.mqttUrl, {
    clientId: 'beibei-zn-super',
    will: {
      topic: 'evmon/v1/beibei/zn-super/online',
      payload: Buffer.from('{"online":false}'),
      qos: 1,
      retain: true,
    },
  })
  station.stream.destroy()
  // A client arriving later still learns the station is offline: the will was retained.
  await new Promise((r) => setTimeout(r, 200))
  const late = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'late' })
  const got = new Promise<string>((resolve) => late.on('message', (_t, p) => resolve(p.toString())))
  await late.subscribeAsync('evmon/v1/beibei/+/online', { qos: 1 })
  expect(await got).toBe('{"online":false}')
  station.end(true)
  await late.endAsync()
})

test('garbage on the socket is dropped without stopping the broker', async () => {
  broker = await start(local)
  const ws = new WebSocket(broker.wsUrl, 'mqtt')
  await new Promise((resolve) => ws.on('open', resolve))
  ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]))
  await new Promise((resolve) => ws.on('close', resolve))
  const client = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'after-garbage' })
  expect(client.connected).toBe(true)
  await client.endAsync()
  const metrics = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text()
  expect(metrics).toMatch(/evmon_broker_client_errors_total [1-9]/)
})

test('with a certificate configured, MQTT over TLS works and plain clients cannot read it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evmon-tls-'))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ])
  broker = await start({ ...local, tls: { port: 0, certFile: cert, keyFile: key } })
  const ca = readFileSync(cert)
  const secure = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.tlsPort}`, { ca, clientId: 'tls-sub' })
  await secure.subscribeAsync('evmon/v1/#', { qos: 1 })
  const got = new Promise<string>((resolve) => secure.on('message', (_t, p) => resolve(p.toString())))
  const pub = await mqtt.connectAsync(broker.mqttUrl, { clientId: 'tcp-pub-tls' })
  await pub.publishAsync('evmon/v1/beibei/zn-super/online', '{"online":true}', { qos: 1 })
  expect(await got).toBe('{"online":true}')
  // A client that does not trust the certificate is refused at the TLS handshake.
  await expect(
    mqtt.connectAsync(`mqtts://127.0.0.1:${broker.tlsPort}`, { clientId: 'untrusting', reconnectPeriod: 0 }),
  ).rejects.toThrow(/self[- ]signed|certificate/i)
  await Promise.all([secure.endAsync(), pub.endAsync()])
  rmSync(dir, { recursive: true, force: true })
})

// A persistent subscriber that acknowledges late (as ingest does, after the write) keeps thousands of
// messages in flight; the broker's in-flight queue must resend exactly the unacknowledged ones after
// a drop, alongside what queued while it was away and what arrives during the resend, and forget
// each one once acknowledged on the new connection.
test('a persistent subscriber gets every unacknowledged message again after a drop, and only those', async () => {
  broker = await start(local)
  const url = broker.mqttUrl
  const subscriber = { clientId: 'late-acker', clean: false, protocolVersion: 4 as const }
  const first = await mqtt.connectAsync(url, subscriber)
  await first.subscribeAsync('evmon/v1/#', { qos: 1 })
  // Hold every PUBACK mqtt.js would send, to release some of them by hand.
  type Send = (packet: { cmd: string; messageId?: number }, cb?: () => void) => void
  const internals = first as unknown as { _sendPacket: Send }
  const send = internals._sendPacket.bind(first)
  const held: number[] = []
  internals._sendPacket = (packet, cb) => {
    if (packet.cmd !== 'puback') return send(packet, cb)
    held.push(packet.messageId as number)
    cb?.()
  }
  const firstSeen: number[] = []
  first.on('message', (_t, payload) => firstSeen.push(Number(payload.toString())))

  const publisher = await mqtt.connectAsync(url, { clientId: 'publisher' })
  const publish = async (from: number, to: number) => {
    for (let seq = from; seq < to; seq++)
      await publisher.publishAsync('evmon/v1/beibei/kc-ac/telemetry', String(seq), { qos: 1 })
  }
  await publish(0, 3_000)
  await vi.waitFor(() => expect(firstSeen).toHaveLength(3_000), { timeout: 10_000 })
  // Acknowledge the first 1,000 (in order, as MQTT requires), then drop without DISCONNECT.
  for (const messageId of held.slice(0, 1_000)) send({ cmd: 'puback', messageId })
  await new Promise((r) => setTimeout(r, 300))
  first.stream.destroy()
  await new Promise((r) => setTimeout(r, 300))
  await publish(3_000, 4_000) // queued while away

  const second = mqtt.connect(url, subscriber)
  const secondSeen: number[] = []
  second.on('message', (_t, payload) => secondSeen.push(Number(payload.toString())))
  await new Promise((r) => second.once('connect', r))
  await publish(4_000, 4_500) // live, while the queue is being resent
  const expected = Array.from({ length: 3_500 }, (_, i) => 1_000 + i)
  await vi.waitFor(() => expect(new Set(secondSeen).size).toBe(expected.length), { timeout: 10_000 })
  expect([...new Set(secondSeen)].sort((a, b) => a - b)).toEqual(expected)
  await second.endAsync()

  // Everything was acknowledged on the second connection: a third one is sent nothing.
  const third = mqtt.connect(url, subscriber)
  const thirdSeen: number[] = []
  third.on('message', (_t, payload) => thirdSeen.push(Number(payload.toString())))
  await new Promise((r) => third.once('connect', r))
  await new Promise((r) => setTimeout(r, 500))
  expect(thirdSeen).toEqual([])
  await Promise.all([third.endAsync(), publisher.endAsync()])
}, 30_000)
