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

test('optional variables are typed as possibly undefined, defaulted ones are not', () => {
  const { values } = readEnv(spec, {})
  const port: number = values.port
  // @ts-expect-error EVMON_X_NAME has no default, so its value may be undefined
  const name: string = values.name
  expect([port, name]).toEqual([8080, undefined])
})

test('a list is split on commas, trimmed, and each entry checked', () => {
  const origins = {
    origins: envVar.list('EVMON_X_ORIGINS', [], 'origins', /^https?:\/\/\S+$/, 'must be an http(s) URL'),
  }
  expect(readEnv(origins, {}).values.origins).toEqual([])
  expect(readEnv(origins, { EVMON_X_ORIGINS: ' http://a, ,https://b:8443 ' }).values.origins).toEqual([
    'http://a',
    'https://b:8443',
  ])
  expect(readEnv(origins, { EVMON_X_ORIGINS: 'http://a,evil,ftp://c' }).problems).toEqual([
    'EVMON_X_ORIGINS="http://a,evil,ftp://c" has "evil", "ftp://c", which must be an http(s) URL',
  ])
})

test('secrets are read like any string but never echoed in a problem', () => {
  const secrets = {
    password: envVar.secret('EVMON_X_PASSWORD', 'a password'),
    token: envVar.custom(
      'EVMON_X_TOKEN',
      undefined,
      'a token',
      (raw) => {
        if (!/^[0-9a-f]{8}$/.test(raw)) throw new Error('must be 8 hex digits')
        return raw
      },
      { secret: true },
    ),
  }
  expect(readEnv(secrets, { EVMON_X_PASSWORD: 'hunter2' }).values).toEqual({
    password: 'hunter2',
    token: undefined,
  })
  const { problems } = readEnv(secrets, { EVMON_X_TOKEN: 'plain-secret' })
  expect(problems).toEqual(['EVMON_X_TOKEN must be 8 hex digits'])
  expect(secrets.password.secret).toBe(true)
})

test('custom variables parse to any type and keep their default when unset', () => {
  const factor = {
    speed: envVar.custom('EVMON_X_SPEED', 1, 'a factor', (raw) => {
      const n = Number(raw)
      if (!(n > 0)) throw new Error('must be a number above 0')
      return n
    }),
  }
  expect(readEnv(factor, {}).values.speed).toBe(1)
  expect(readEnv(factor, { EVMON_X_SPEED: '2.5' }).values.speed).toBe(2.5)
  expect(readEnv(factor, { EVMON_X_SPEED: '0' }).problems).toEqual([
    'EVMON_X_SPEED="0" must be a number above 0',
  ])
})
