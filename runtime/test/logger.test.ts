import { expect, test } from 'vitest'
import { ConfigError, createLogger } from '../src/index.ts'

test('one parseable JSON object per line, level as a word, named after the service', () => {
  const out: string[] = []
  createLogger('ingest', { env: {}, write: (l) => out.push(l) }).warn({ status: 500 }, 'write failed')
  expect(out).toHaveLength(1)
  expect(out[0]?.endsWith('\n')).toBe(true)
  expect(JSON.parse(out[0] as string)).toMatchObject({
    level: 'warn',
    name: 'ingest',
    msg: 'write failed',
    status: 500,
  })
})

test('EVMON_LOG_LEVEL filters lines', () => {
  const out: string[] = []
  const logger = createLogger('broker', { env: { EVMON_LOG_LEVEL: 'warn' }, write: (l) => out.push(l) })
  logger.info('dropped')
  logger.error('kept')
  expect(out.map((l) => JSON.parse(l).msg)).toEqual(['kept'])
})

test('an invalid EVMON_LOG_LEVEL is a configuration error naming the variable', () => {
  expect(() => createLogger('gateway', { env: { EVMON_LOG_LEVEL: 'loud' } })).toThrow(ConfigError)
  expect(() => createLogger('gateway', { env: { EVMON_LOG_LEVEL: 'loud' } })).toThrow(/EVMON_LOG_LEVEL/)
})
