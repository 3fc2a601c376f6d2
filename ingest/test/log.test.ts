import { expect, test } from 'vitest'
import { jsonLogger, rateLimited, type Logger } from '../src/log.ts'

function recorder(): Logger & { lines: [string, Record<string, unknown> | undefined][] } {
  const lines: [string, Record<string, unknown> | undefined][] = []
  const log = (msg: string, fields?: Record<string, unknown>) => lines.push([msg, fields])
  return { lines, info: log, warn: log, error: log }
}

test('one line per key per interval, then the number suppressed meanwhile', () => {
  let now = 0
  const logger = recorder()
  const warn = rateLimited(logger, 10_000, () => now)
  for (let i = 0; i < 5; i++) warn('json', 'message rejected', { reason: 'json' })
  warn('schema', 'message rejected', { reason: 'schema' })
  now = 10_000
  warn('json', 'message rejected', { reason: 'json' })
  expect(logger.lines).toEqual([
    ['message rejected', { reason: 'json' }],
    ['message rejected', { reason: 'schema' }],
    ['message rejected', { reason: 'json', suppressed: 4 }],
  ])
})

test("ingest's logger hands message and fields to the shared JSON logger", () => {
  const out: string[] = []
  const logger = jsonLogger('ingest', (l) => out.push(l))
  logger.error('write failed', { status: 500 })
  logger.info('started')
  const [failed, started] = out.map((l) => JSON.parse(l) as Record<string, unknown>)
  expect(failed).toMatchObject({ level: 'error', name: 'ingest', msg: 'write failed', status: 500 })
  expect(started).toMatchObject({ level: 'info', msg: 'started' })
})
