import { ConfigError } from '@evmon/runtime'
import { describe, expect, test } from 'vitest'
import { loadConfig } from '../src/config.ts'

describe('loadConfig', () => {
  test('defaults: port 9220, TLS off, central-system answers accept every id tag', () => {
    const config = loadConfig({})
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9220,
      chargersFile: 'var/gateway/chargers.json',
      sampleIntervalMs: 1000,
      authorize: { kind: 'accept-all' },
    })
    expect(config.tls).toBeUndefined()
  })

  test('TLS needs cert and key; id-tags needs tags; every problem is named at once', () => {
    let error: unknown
    try {
      loadConfig({
        EVMON_GATEWAY_TLS_CERT: 'c.pem',
        EVMON_GATEWAY_AUTHORIZE: 'id-tags',
        EVMON_GATEWAY_PORT: 'x',
      })
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      'EVMON_GATEWAY_PORT="x" must be a whole number from 0 to 65535',
      'EVMON_GATEWAY_TLS_CERT and EVMON_GATEWAY_TLS_KEY go together',
      'EVMON_GATEWAY_AUTHORIZE=id-tags needs EVMON_GATEWAY_ID_TAGS',
    ])
  })

  test('id tags are a set; TLS on its own port', () => {
    const config = loadConfig({
      EVMON_GATEWAY_AUTHORIZE: 'id-tags',
      EVMON_GATEWAY_ID_TAGS: 'A, B',
      EVMON_GATEWAY_TLS_CERT: 'c.pem',
      EVMON_GATEWAY_TLS_KEY: 'k.pem',
    })
    expect(config.authorize).toEqual({ kind: 'id-tags', idTags: new Set(['A', 'B']) })
    expect(config.tls).toEqual({ port: 9221, certFile: 'c.pem', keyFile: 'k.pem' })
  })
})
