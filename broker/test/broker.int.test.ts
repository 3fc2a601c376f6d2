import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt from 'mqtt'
import WebSocket from 'ws'
import { afterEach, expect, test } from 'vitest'
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
