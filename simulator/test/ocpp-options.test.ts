import { describe, expect, test } from 'vitest'
import { parseConfig } from '../src/config.ts'
import { stoppedReason201 } from '../src/ocpp/charger.ts'
import { ocppIdentityOf, ocppStations } from '../src/ocpp/options.ts'

const STATIONS = ['zn-super', 'kc-fast-1', 'kc-fast-2', 'kc-ac']

describe('--protocol', () => {
  test('per station: the named stations speak OCPP, the rest MQTT', () => {
    const parsed = parseConfig(['--protocol', 'kc-fast-1=ocpp1.6, kc-fast-2=ocpp2.0.1'], {})
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed))
    const settings = parsed.config.ocpp
    expect(settings?.url).toBe('ws://127.0.0.1:9220/ocpp')
    expect([...ocppStations(settings!, STATIONS)]).toEqual([
      ['kc-fast-1', 'ocpp1.6'],
      ['kc-fast-2', 'ocpp2.0.1'],
    ])
  })

  test('a bare protocol applies to every station; the variable works like the flag', () => {
    const parsed = parseConfig([], {
      EVMON_SIM_PROTOCOL: 'ocpp2.0.1',
      EVMON_SIM_OCPP_URL: 'wss://gw.example/ocpp',
    })
    if (parsed.kind !== 'run') throw new Error(JSON.stringify(parsed))
    expect(parsed.config.ocpp?.url).toBe('wss://gw.example/ocpp')
    expect([...ocppStations(parsed.config.ocpp!, STATIONS).values()]).toEqual(STATIONS.map(() => 'ocpp2.0.1'))
  })

  test('mqtt, and every mode but live, need no gateway', () => {
    for (const argv of [[], ['--protocol', 'mqtt'], ['--protocol', 'ocpp1.6', '--dry-run']]) {
      const parsed = parseConfig(argv, {})
      expect(parsed.kind === 'run' && parsed.config.ocpp).toBeUndefined()
    }
  })

  test.each([
    ['an unknown protocol', ['--protocol', 'ocpp1.5']],
    ['a pair without a protocol', ['--protocol', 'kc-fast-1']],
    ['a station named twice', ['--protocol', 'kc-fast-1=ocpp1.6,kc-fast-1=ocpp2.0.1']],
    ['a gateway URL that is not WebSocket', ['--protocol', 'ocpp1.6', '--ocpp-url', 'http://gw/ocpp']],
  ])('%s is refused with the flag named', (_what, argv) => {
    const parsed = parseConfig(argv, {})
    expect(parsed.kind).toBe('invalid')
    if (parsed.kind === 'invalid') expect(parsed.problems.join(' ')).toMatch(/--(protocol|ocpp-url)/)
  })

  test('a station the site does not have is a mistake, not ignored', () => {
    expect(() =>
      ocppStations({ protocol: new Map([['kc-fast-9', 'ocpp1.6']]), url: 'ws://x' }, STATIONS),
    ).toThrow(/no station kc-fast-9/)
  })
})

test('a simulated charger connects with its station id upper-cased, as chargers are named', () => {
  expect(ocppIdentityOf('kc-fast-1')).toBe('KC-FAST-1')
})

test.each([
  ['EVDisconnected', 'StoppedByEV'],
  ['Local', 'Local'],
  [undefined, 'Local'],
  ['Remote', 'Remote'],
  ['PowerLoss', 'PowerLoss'],
  ['HardReset', 'Other'],
])('the 1.6 stop reason %s is %s in OCPP 2.0.1', (reason, expected) => {
  expect(stoppedReason201(reason)).toBe(expected)
})
