import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type MqttClient } from 'mqtt'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runCli } from '../src/cli.ts'
import { Credentials, start, type BrokerHandle } from '../src/index.ts'

// Accounts change under a running broker, and a refusal tells nothing about which accounts exist.
const dir = mkdtempSync(join(tmpdir(), 'evmon-accounts-'))
const file = join(dir, 'credentials.json')
let broker: BrokerHandle
const logs: string[] = []

beforeAll(async () => {
  const credentials = Credentials.empty()
  await credentials.issue('ingest')
  credentials.save(file)
  broker = await start({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    credentialsFile: file,
    // The timing probe below makes a hundred failed logins from one address.
    limits: { maxAuthFailures: 1_000_000 },
    log: (line) => logs.push(line),
  })
})
afterAll(async () => {
  await broker.close()
  rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs the account command as `npm run broker -- …` would and waits until the broker has read the
 * changed file; returns the password it printed.
 */
async function cli(...args: string[]): Promise<string> {
  const out: string[] = []
  const before = broker.counters().credentialReloads
  expect(await runCli(args, file, (line) => out.push(line))).toBe(0)
  await waitFor(() => broker.counters().credentialReloads > before, 'the broker to reload the file')
  return out.find((l) => l.startsWith('password: '))?.slice('password: '.length) ?? ''
}

const connect = (username: string, password: string): Promise<MqttClient> =>
  mqtt.connectAsync(broker.mqttUrl, {
    username,
    password,
    clientId: username.replace('/', '.'),
    reconnectPeriod: 0,
  })

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test('rotating a station secret closes its session at once; the new secret works, the old one not', async () => {
  const first = await cli('add-station', 'beibei/zn-super')
  const station = await connect('beibei/zn-super', first)
  let closed = false
  station.on('close', () => (closed = true))

  const second = await cli('add-station', 'beibei/zn-super')
  await waitFor(() => closed, 'the old session to close')
  expect(broker.counters().sessionsRevoked).toBe(1)
  await expect(connect('beibei/zn-super', first)).rejects.toThrow(/Bad username or password/)
  const again = await connect('beibei/zn-super', second)
  await again.publishAsync('evmon/v1/beibei/zn-super/online', '{"v":1,"online":true}', { qos: 1 })
  await again.endAsync()
})

test('a credentials file that does not load is refused and the accounts in force stay', async () => {
  const secret = await cli('add-station', 'beibei/kc-ac')
  const station = await connect('beibei/kc-ac', secret)
  const errorsBefore = broker.counters().credentialReloadErrors
  writeFileSync(file, '{"version": 1, "accounts": [') // as a hand edit cut short would leave it
  await waitFor(() => broker.counters().credentialReloadErrors > errorsBefore, 'the refused reload')
  expect(station.connected).toBe(true)
  expect(logs.some((l) => l.startsWith('credentials not reloaded, the accounts in force stay'))).toBe(true)
  await station.endAsync()
  const back = await connect('beibei/kc-ac', secret)
  await back.endAsync()
})

test('an unknown username is refused at the same cost as a wrong password', async () => {
  // The file is whole again (the test above broke it).
  const before = broker.counters().credentialReloads
  const credentials = Credentials.empty()
  await credentials.issue('beibei/zn-super')
  credentials.save(file)
  await waitFor(() => broker.counters().credentialReloads > before, 'the reload')

  /** Milliseconds from opening the connection to the refusal. */
  const refusal = async (username: string): Promise<number> => {
    const t0 = performance.now()
    await expect(connect(username, 'not-the-secret')).rejects.toThrow(/Bad username or password/)
    return performance.now() - t0
  }
  const rounds = 40
  const unknown: number[] = []
  const wrong: number[] = []
  const checksBefore = broker.counters().authScryptChecks
  for (let i = 0; i < 3; i++) await refusal('beibei/zn-super') // warm-up: first scrypt, first socket
  // Interleaved, so load from elsewhere on the machine falls on both sides alike.
  for (let i = 0; i < rounds; i++) {
    unknown.push(await refusal(`beibei/ghost-${i}`))
    wrong.push(await refusal('beibei/zn-super'))
  }
  // Both sides did the same work: one scrypt per refusal.
  expect(broker.counters().authScryptChecks - checksBefore).toBe(2 * rounds + 3)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const ratio = median(unknown) / median(wrong)
  // Without the dummy check an unknown name is refused in ~1 ms against tens of ms for scrypt (a
  // ratio near 0.05); medians of interleaved rounds put the two within noise of each other.
  expect(
    ratio,
    `unknown ${median(unknown).toFixed(1)} ms, wrong ${median(wrong).toFixed(1)} ms`,
  ).toBeGreaterThan(0.75)
  expect(ratio).toBeLessThan(1.33)
}, 60_000)
