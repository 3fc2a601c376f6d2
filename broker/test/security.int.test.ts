import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Credentials, start, type BrokerHandle } from '../src/index.ts'

const run = promisify(execFile)
const dir = mkdtempSync(join(tmpdir(), 'evmon-broker-'))
const file = join(dir, 'credentials.json')
const secrets: Record<string, string> = {}
let broker: BrokerHandle
const logs: string[] = []
const clients: MqttClient[] = []

beforeAll(async () => {
  const credentials = Credentials.empty()
  for (const name of ['beibei/zn-super', 'beibei/kc-ac', 'ingest', 'simulator', 'api'])
    secrets[name] = await credentials.issue(name)
  credentials.save(file)
  broker = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    metricsPort: 0,
    credentialsFile: file,
    limits: {
      maxPayloadBytes: 4096,
      stationPublishRatePerS: 5,
      stationPublishBurst: 20,
      maxAuthFailures: 5,
      maxConnectionsPerService: 20,
    },
    log: (line) => logs.push(line),
  })
})
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)))
  await broker.close()
  rmSync(dir, { recursive: true, force: true })
})

const station = (name: string): IClientOptions => ({
  username: name,
  password: secrets[name] as string,
  clientId: name.replace('/', '.'),
  reconnectPeriod: 0,
})
async function connect(options: IClientOptions): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.mqttUrl, { reconnectPeriod: 0, ...options })
  clients.push(client)
  return client
}
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
  return Number(line?.split(' ').at(-1))
}
/** Subscribes as ingest and collects what arrives on `filter`. */
async function watch(filter: string): Promise<string[]> {
  const seen: string[] = []
  const ingest = await connect({
    username: 'ingest',
    password: secrets.ingest,
    clientId: `watch-${Math.random()}`,
  })
  ingest.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`))
  await ingest.subscribeAsync(filter, { qos: 1 })
  return seen
}
const settle = () => new Promise((r) => setTimeout(r, 300))

describe('with mosquitto clients', () => {
  const mqttArgs = () => ['-h', '127.0.0.1', '-p', String(broker.mqttPort)]

  test('no credentials are refused', async () => {
    const err = await run('mosquitto_pub', [
      ...mqttArgs(),
      '-t',
      'evmon/v1/beibei/zn-super/telemetry',
      '-m',
      '{}',
    ]).catch((e: { stderr: string; code: number }) => e)
    expect(err).toMatchObject({ code: expect.any(Number) })
    expect((err as { stderr: string }).stderr).toMatch(/refused|not authori[sz]ed|bad user name/i)
  })

  test('a wrong password is refused', async () => {
    const args = [...mqttArgs(), '-u', 'beibei/zn-super', '-P', 'wrong', '-i', 'beibei.zn-super']
    const err = await run('mosquitto_pub', [
      ...args,
      '-t',
      'evmon/v1/beibei/zn-super/online',
      '-m',
      '{}',
    ]).catch((e: { stderr: string }) => e)
    expect((err as { stderr: string }).stderr).toMatch(/bad user name or password|refused/i)
  })

  test('a station publishing to another station is not delivered and is counted', async () => {
    const seen = await watch('evmon/v1/#')
    const before = await metric('evmon_broker_acl_denials_total')
    const args = [
      ...mqttArgs(),
      '-u',
      'beibei/kc-ac',
      '-P',
      secrets['beibei/kc-ac'] as string,
      '-i',
      'beibei.kc-ac',
    ]
    await run('mosquitto_pub', [
      ...args,
      '-q',
      '1',
      '-t',
      'evmon/v1/beibei/zn-super/online',
      '-m',
      '{"online":false}',
    ]).catch(() => undefined)
    await run('mosquitto_pub', [
      ...args,
      '-q',
      '1',
      '-t',
      'evmon/v1/beibei/kc-ac/online',
      '-m',
      '{"online":true}',
    ])
    await settle()
    expect(seen).toEqual(['evmon/v1/beibei/kc-ac/online {"online":true}'])
    expect(await metric('evmon_broker_acl_denials_total')).toBe(before + 1)
  })

  test('a station subscribing to # is refused', async () => {
    const args = [
      ...mqttArgs(),
      '-u',
      'beibei/kc-ac',
      '-P',
      secrets['beibei/kc-ac'] as string,
      '-i',
      'beibei.kc-ac',
    ]
    const result = await run('mosquitto_sub', [...args, '-t', '#', '-C', '1', '-W', '2']).catch(
      (e: { stdout: string; stderr: string; code: number }) => e,
    )
    expect(`${result.stdout}${result.stderr}`).toMatch(/denied/i)
  })

  test('a retained message on a foreign topic is refused and not retained', async () => {
    const args = [
      ...mqttArgs(),
      '-u',
      'beibei/kc-ac',
      '-P',
      secrets['beibei/kc-ac'] as string,
      '-i',
      'beibei.kc-ac',
    ]
    await run('mosquitto_pub', [
      ...args,
      '-r',
      '-q',
      '1',
      '-t',
      'evmon/v1/beibei/zn-super/meta',
      '-m',
      '{"fake":1}',
    ]).catch(() => undefined)
    const seen = await watch('evmon/v1/beibei/zn-super/meta')
    await settle()
    expect(seen).toEqual([])
  })
})

describe('with mqtt.js', () => {
  test('a station connects, publishes its own telemetry, and it arrives', async () => {
    const seen = await watch('evmon/v1/beibei/zn-super/telemetry')
    const zn = await connect(station('beibei/zn-super'))
    await zn.publishAsync('evmon/v1/beibei/zn-super/telemetry', '{"ok":1}', { qos: 1 })
    await settle()
    expect(seen).toEqual(['evmon/v1/beibei/zn-super/telemetry {"ok":1}'])
  })

  test('a station with another station’s client id is refused', async () => {
    await expect(connect({ ...station('beibei/kc-ac'), clientId: 'beibei.zn-super' })).rejects.toThrow(
      /not authori[sz]ed/i,
    )
  })

  test('a will on a foreign topic refuses the connection', async () => {
    const will = {
      topic: 'evmon/v1/beibei/zn-super/online',
      payload: Buffer.from('{"online":false}'),
      qos: 1 as const,
      retain: true,
    }
    await expect(connect({ ...station('beibei/kc-ac'), will })).rejects.toThrow(/not authori[sz]ed/i)
  })

  test('a station cannot subscribe beyond its command topics', async () => {
    const ac = await connect(station('beibei/kc-ac'))
    // mqtt.js turns a SUBACK failure code (0x80) into a rejected subscribe.
    await expect(ac.subscribeAsync('evmon/v1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/)
    await expect(ac.subscribeAsync('evmon/v1/beibei/zn-super/cmd/limit', { qos: 1 })).rejects.toThrow(
      /Subscribe error/,
    )
    const granted = await ac.subscribeAsync('evmon/v1/beibei/kc-ac/cmd/limit', { qos: 1 })
    expect(granted[0]?.qos).toBe(1)
    await ac.endAsync()
  })

  test('ingest may read everything but publish nothing', async () => {
    const ingest = await connect({
      username: 'ingest',
      password: secrets.ingest,
      clientId: 'evmon-ingest-acl',
    })
    const granted = await ingest.subscribeAsync('$share/evmon-ingest/evmon/v1/#', { qos: 1 })
    expect(granted[0]?.qos).toBe(1)
    const closed = new Promise<void>((resolve) => ingest.once('close', () => resolve()))
    ingest.publish('evmon/v1/beibei/zn-super/telemetry', '{}', { qos: 1 })
    await closed
  })

  test('an oversized payload disconnects its sender while others keep being served', async () => {
    const seen = await watch('evmon/v1/beibei/zn-super/telemetry')
    const before = await metric('evmon_broker_dropped_total{reason="oversize"}')
    const ac = await connect(station('beibei/kc-ac'))
    const closed = new Promise<void>((resolve) => ac.once('close', () => resolve()))
    ac.publish('evmon/v1/beibei/kc-ac/telemetry', Buffer.alloc(1024 * 1024, 0x61), { qos: 1 })
    await closed
    const zn = await connect(station('beibei/zn-super'))
    await zn.publishAsync('evmon/v1/beibei/zn-super/telemetry', '{"still":"served"}', { qos: 1 })
    await settle()
    expect(seen).toContain('evmon/v1/beibei/zn-super/telemetry {"still":"served"}')
    expect(await metric('evmon_broker_dropped_total{reason="oversize"}')).toBe(before + 1)
    await zn.endAsync()
  })

  test('a station publishing faster than its rate limit is cut off and counted', async () => {
    const ac = await connect(station('beibei/kc-ac'))
    const closed = new Promise<void>((resolve) => ac.once('close', () => resolve()))
    for (let i = 0; i < 100; i++) ac.publish('evmon/v1/beibei/kc-ac/telemetry', `{"i":${i}}`, { qos: 0 })
    await closed
    expect(await metric('evmon_broker_dropped_total{reason="rate"}')).toBeGreaterThan(0)
  })

  test('a service account is refused beyond its connection limit, and counted', async () => {
    const before = await metric('evmon_broker_connection_limit_total')
    const api = { username: 'api', password: secrets.api as string }
    for (let i = 0; i < 20; i++) await connect({ ...api, clientId: `api-${i}` })
    await expect(connect({ ...api, clientId: 'api-20' })).rejects.toThrow(/not authori[sz]ed/i)
    expect(await metric('evmon_broker_connection_limit_total')).toBe(before + 1)
  })

  test('a topic deeper than the limit disconnects the publisher and is counted', async () => {
    const before = await metric('evmon_broker_client_errors_total')
    const denialsBefore = await metric('evmon_broker_acl_denials_total')
    const sim = await connect({
      username: 'simulator',
      password: secrets.simulator as string,
      clientId: 'deep',
    })
    const closed = new Promise<void>((resolve) => sim.once('close', () => resolve()))
    sim.publish('evmon/v1/a/b/c/d/e/f/g/h', '{}', { qos: 1 })
    await closed
    expect(await metric('evmon_broker_client_errors_total')).toBeGreaterThan(before)
    // Refused for its depth before any ACL was consulted.
    expect(await metric('evmon_broker_acl_denials_total')).toBe(denialsBefore)
  })

  test('a station reconnecting pays the scrypt check only on its first login', async () => {
    await (await connect(station('beibei/kc-ac'))).endAsync()
    const afterFirst = await metric('evmon_broker_auth_scrypt_checks_total')
    expect(afterFirst).toBeGreaterThan(0)
    for (let i = 0; i < 3; i++) await (await connect(station('beibei/kc-ac'))).endAsync()
    expect(await metric('evmon_broker_auth_scrypt_checks_total')).toBe(afterFirst)
    // A wrong secret is never answered from memory.
    await expect(connect({ ...station('beibei/kc-ac'), password: 'wrong' })).rejects.toThrow()
    expect(await metric('evmon_broker_auth_scrypt_checks_total')).toBe(afterFirst + 1)
  })

  test('password guessing is throttled: after 5 failures even the right password waits', async () => {
    for (let i = 0; i < 5; i++) {
      await expect(
        connect({ ...station('simulator'), password: `guess-${i}`, clientId: 'sim' }),
      ).rejects.toThrow()
    }
    await expect(connect({ ...station('simulator'), clientId: 'sim' })).rejects.toThrow(/not authori[sz]ed/i)
    expect(logs.some((l) => l.includes('too many failed logins'))).toBe(true)
  })

  test('the credentials file holds no secret in plain text', () => {
    const text = readFileSync(file, 'utf8')
    for (const secret of Object.values(secrets)) expect(text).not.toContain(secret)
  })
})
