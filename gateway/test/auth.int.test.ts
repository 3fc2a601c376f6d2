import { readFileSync, statSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { Stack } from './harness.ts'

let stack: Stack
beforeEach(async () => {
  stack = await Stack.start()
})
afterEach(async () => {
  await stack.close()
})

/** The HTTP status a refused upgrade answered (ocpp-rpc puts it on the error as `code`). */
async function refusal(connect: () => Promise<unknown>): Promise<number> {
  try {
    await connect()
  } catch (err) {
    return (err as { code: number }).code
  }
  throw new Error('the connection was accepted')
}

const refused = (reason: string) =>
  stack.gateway.metrics.get('evmon_gateway_upgrades_refused_total', { reason })

describe('security profile 1: Basic auth per charger', () => {
  test('unknown identity, wrong or missing password and wrong subprotocol are refused and counted', async () => {
    const password = await stack.addCharger('beibei', 'CS-1')
    expect(await refusal(() => stack.charger('beibei', 'CS-2', password).connect())).toBe(401)
    expect(await refusal(() => stack.charger('beibei', 'CS-1', `${password}x`).connect())).toBe(401)
    expect(await refusal(() => stack.charger('beibei', 'CS-1', undefined).connect())).toBe(401)
    // The right charger under another site is another (unknown) charger.
    expect(await refusal(() => stack.charger('other', 'CS-1', password).connect())).toBe(401)
    expect(await refusal(() => stack.charger('beibei', 'CS-1', password, 'ocpp2.0').connect())).toBe(400)
    expect(await refused('unknown_charger')).toBe(2)
    expect(await refused('bad_password')).toBe(1)
    expect(await refused('no_password')).toBe(1)
    expect(await refused('subprotocol')).toBe(1)
    expect(stack.logs.filter((l) => l.startsWith('refused:'))).toHaveLength(5)
    // The right password is still accepted after all that.
    const cp = stack.charger('beibei', 'CS-1', password)
    await cp.connect()
    await cp.close()
    await stack.until('online, then offline', () => stack.of('cs-1', 'online').length === 2)
  })

  test('password guessing is throttled: after a few failures the address is refused (429) before any check', async () => {
    await stack.close()
    stack = await Stack.start({ maxAuthFailures: 3 })
    const password = await stack.addCharger('beibei', 'CS-1')
    for (let i = 0; i < 3; i++) {
      expect(await refusal(() => stack.charger('beibei', 'CS-1', `guess-${i}`).connect())).toBe(401)
    }
    // Even the right password waits out the window now.
    expect(await refusal(() => stack.charger('beibei', 'CS-1', password).connect())).toBe(429)
    expect(await refused('throttled')).toBe(1)
  })

  test('the chargers file keeps salted hashes only, readable by its owner only', async () => {
    const password = await stack.addCharger('beibei', 'CS-1')
    const text = readFileSync(stack.config.chargersFile, 'utf8')
    expect(text).not.toContain(password)
    expect(JSON.parse(text).chargers[0]).toMatchObject({ site: 'beibei', identity: 'CS-1', station: 'cs-1' })
    expect(statSync(stack.config.chargersFile).mode & 0o077).toBe(0)
  })

  test('a charger added while the gateway runs can connect; removing it closes its connection', async () => {
    const password = await stack.addCharger('beibei', 'Late:Comer')
    const cp = stack.charger('beibei', 'Late:Comer', password)
    await cp.connect()
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
    const closed = new Promise<{ code: number }>((resolve) => cp.once('close', resolve))
    await stack.removeCharger('beibei', 'Late:Comer')
    expect((await closed).code).toBe(1008)
    await stack.until('offline', () =>
      stack.of('late_comer', 'online').find((m) => !(m.payload as { online: boolean }).online),
    )
    expect(await refusal(() => stack.charger('beibei', 'Late:Comer', password).connect())).toBe(401)
  })

  test('a second connection of the same charger replaces the first, and the station stays online', async () => {
    const password = await stack.addCharger('beibei', 'CS-1')
    const first = stack.charger('beibei', 'CS-1', password)
    await first.connect()
    await first.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })
    const firstClosed = new Promise<{ code: number; reason: string }>((resolve) =>
      first.once('close', resolve),
    )
    const second = stack.charger('beibei', 'CS-1', password)
    await second.connect()
    expect(await firstClosed).toMatchObject({ reason: 'replaced by a new connection' })
    // The second connection works, without booting again.
    await second.call('Heartbeat', {})
    await new Promise((r) => setTimeout(r, 300))
    const online = stack.of('cs-1', 'online').map((m) => (m.payload as { online: boolean }).online)
    expect(online).toEqual([true, true])
    expect(await stack.gateway.metrics.get('evmon_gateway_connections_replaced_total')).toBe(1)
    await second.close()
  })
})
