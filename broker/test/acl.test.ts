import { expect, test } from 'vitest'
import { canPublish, canSubscribe, requiredClientId } from '../src/acl.ts'
import type { Identity } from '../src/credentials.ts'
import { identityFor } from '../src/credentials.ts'

const zn: Identity = { role: 'station', site: 'beibei', station: 'zn-super' }

test('a station publishes only its own five message kinds', () => {
  for (const kind of ['meta', 'online', 'telemetry', 'status', 'session']) {
    expect(canPublish(zn, `evmon/v1/beibei/zn-super/${kind}`)).toBe(true)
  }
  expect(canPublish(zn, 'evmon/v1/beibei/kc-ac/telemetry')).toBe(false)
  expect(canPublish(zn, 'evmon/v1/beibei/zn-super-2/telemetry')).toBe(false)
  expect(canPublish(zn, 'evmon/v1/beibei/zn-super/telemetry/extra')).toBe(false)
  expect(canPublish(zn, 'evmon/v1/beibei/zn-super/cmd/limit')).toBe(false)
  expect(canPublish(zn, 'evmon/replay/v1/beibei/zn-super/telemetry')).toBe(false)
})

test('a station subscribes only to its own command topics, without wildcards beyond them', () => {
  expect(canSubscribe(zn, 'evmon/v1/beibei/zn-super/cmd/limit')).toBe(true)
  expect(canSubscribe(zn, '#')).toBe(false)
  expect(canSubscribe(zn, 'evmon/v1/#')).toBe(false)
  expect(canSubscribe(zn, 'evmon/v1/beibei/zn-super/cmd/#')).toBe(false)
  expect(canSubscribe(zn, 'evmon/v1/beibei/+/cmd/limit')).toBe(false)
  expect(canSubscribe(zn, 'evmon/v1/beibei/kc-ac/cmd/limit')).toBe(false)
})

test('ingest and api read station topics, directly or shared, and publish nothing', () => {
  for (const role of ['ingest', 'api'] as const) {
    expect(canSubscribe({ role }, 'evmon/v1/#')).toBe(true)
    expect(canSubscribe({ role }, '$share/evmon-ingest/evmon/v1/#')).toBe(true)
    expect(canSubscribe({ role }, 'evmon/replay/v1/#')).toBe(false)
    expect(canSubscribe({ role }, '#')).toBe(false)
    expect(canSubscribe({ role }, '$SYS/#')).toBe(false)
    expect(canPublish({ role }, 'evmon/v1/beibei/zn-super/telemetry')).toBe(false)
  }
})

test('the simulator publishes station messages only', () => {
  expect(canPublish({ role: 'simulator' }, 'evmon/v1/beibei/zn-super/telemetry')).toBe(true)
  expect(canPublish({ role: 'simulator' }, 'evmon/replay/v1/beibei/zn-super/telemetry')).toBe(false)
  expect(canPublish({ role: 'simulator' }, 'evmon/v1/beibei/zn-super/cmd/x')).toBe(false)
  expect(canSubscribe({ role: 'simulator' }, 'evmon/v1/#')).toBe(false)
  // The OCPP gateway speaks for its chargers the same way.
  expect(canPublish({ role: 'gateway' }, 'evmon/v1/beibei/kc-fast-1/meta')).toBe(true)
  expect(canPublish({ role: 'gateway' }, 'evmon/replay/v1/beibei/kc-fast-1/telemetry')).toBe(false)
  expect(canSubscribe({ role: 'gateway' }, 'evmon/v1/#')).toBe(false)
})

test('stations are bound to their client id; services are not', () => {
  expect(requiredClientId(zn)).toBe('beibei.zn-super')
  expect(requiredClientId({ role: 'ingest' })).toBeNull()
})

test('usernames map to identities; anything else is no identity', () => {
  expect(identityFor('beibei/zn-super')).toEqual(zn)
  expect(identityFor('ingest')).toEqual({ role: 'ingest' })
  expect(identityFor('admin')).toBeNull()
  expect(identityFor('beibei/zn-super/x')).toBeNull()
  expect(identityFor('Beibei/zn')).toBeNull()
})
