import { expect, test } from 'vitest'
import { assertNoProblems, ConfigError, envVar, readEnv } from '../src/index.ts'

const spec = {
  port: envVar.port('EVMON_X_PORT', 8080, 'a port'),
  url: envVar.url('EVMON_X_URL', 'mqtt://127.0.0.1:1883', 'a URL', ['mqtt:', 'mqtts:']),
  name: envVar.string('EVMON_X_NAME', undefined, 'optional', /^[a-z]+$/, 'must be lower-case letters'),
  on: envVar.bool('EVMON_X_ON', false, 'a switch'),
  api: envVar.oneOf('EVMON_X_API', 'v1', 'which API', ['v1', 'v2'] as const),
}

test('unset and empty variables take their defaults', () => {
  const { values, problems } = readEnv(spec, { EVMON_X_PORT: '' })
  expect(problems).toEqual([])
  expect(values).toEqual({ port: 8080, url: 'mqtt://127.0.0.1:1883', name: undefined, on: false, api: 'v1' })
})

test('set variables are parsed to their types', () => {
  const { values } = readEnv(spec, {
    EVMON_X_PORT: '0',
    EVMON_X_URL: 'mqtts://broker:8883',
    EVMON_X_NAME: 'beibei',
    EVMON_X_ON: 'true',
    EVMON_X_API: 'v2',
  })
  expect(values).toEqual({ port: 0, url: 'mqtts://broker:8883', name: 'beibei', on: true, api: 'v2' })
})

test('every bad variable is reported, each with its value and what is wrong', () => {
  const { problems } = readEnv(spec, {
    EVMON_X_PORT: '8080.5',
    EVMON_X_URL: 'http://x',
    EVMON_X_NAME: 'Bei Bei',
    EVMON_X_ON: 'yes',
    EVMON_X_API: 'v3',
  })
  expect(problems).toEqual([
    'EVMON_X_PORT="8080.5" must be a whole number from 0 to 65535',
    'EVMON_X_URL="http://x" must use mqtt: or mqtts:',
    'EVMON_X_NAME="Bei Bei" must be lower-case letters',
    'EVMON_X_ON="yes" must be true or false',
    'EVMON_X_API="v3" must be one of v1, v2',
  ])
  expect(() => assertNoProblems('x', problems)).toThrow(ConfigError)
  expect(() => assertNoProblems('x', [])).not.toThrow()
})
