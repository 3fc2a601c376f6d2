import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, test } from 'vitest'
import { createInfluxV1Writer } from '../src/influx-v1-writer.ts'
import { WriteError, type LineWriter } from '../src/line-writer.ts'

interface Seen {
  method: string
  path: string
  query: URLSearchParams
  authorization: string | undefined
  body: string
}

let server: Server | undefined
let writer: LineWriter | undefined
afterEach(async () => {
  await writer?.close()
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  server = writer = undefined
})

/** A stand-in InfluxDB answering each request with the next of `answers` (the last one repeats). */
async function stub(answers: [status: number, body: string][]): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  server = createServer(async (req: IncomingMessage, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const url = new URL(req.url ?? '/', 'http://x')
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body,
    })
    const [status, text] = answers[Math.min(seen.length - 1, answers.length - 1)] as [number, string]
    res.writeHead(status, { 'content-type': 'application/json' }).end(text)
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen }
}

const options = (url: string) => ({ url, database: 'evmon_w', timeoutMs: 2_000, maxSockets: 2 })

async function failure(promise: Promise<unknown>): Promise<WriteError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(WriteError)
  return err as WriteError
}

test('lines are posted to /write with the database, precision ms and Basic auth', async () => {
  const { url, seen } = await stub([[204, '']])
  writer = createInfluxV1Writer({ ...options(`${url}/`), username: 'writer', password: 'p:w' })
  await writer.write([
    'station,site=a,station=b grid_power_w=1 1',
    'station,site=a,station=b grid_power_w=2 2',
  ])
  expect(seen).toHaveLength(1)
  expect(seen[0]).toMatchObject({
    method: 'POST',
    path: '/write',
    authorization: `Basic ${Buffer.from('writer:p:w').toString('base64')}`,
    body: 'station,site=a,station=b grid_power_w=1 1\nstation,site=a,station=b grid_power_w=2 2',
  })
  expect(Object.fromEntries(seen[0]!.query)).toEqual({ db: 'evmon_w', rp: 'raw', precision: 'ms' })
})

test('a path prefix in the URL is kept (InfluxDB behind a reverse proxy)', async () => {
  const { url, seen } = await stub([[204, '']])
  writer = createInfluxV1Writer(options(`${url}/influx`))
  await writer.write(['m f=1 1'])
  expect(seen[0]?.path).toBe('/influx/write')
})

const OK_RESULT: [number, string] = [200, '{"results":[{"statement_id":0}]}']
// CREATE DATABASE, two retention policies, SHOW CONTINUOUS QUERIES (none), two continuous queries.
const SCHEMA_STATEMENTS = 6

test('prepare posts the schema statements to /query and reports a refusal', async () => {
  const { url, seen } = await stub([
    ...Array.from({ length: SCHEMA_STATEMENTS }, () => OK_RESULT),
    [200, '{"results":[{"statement_id":0,"error":"unauthorized"}]}'],
  ])
  writer = createInfluxV1Writer(options(url))
  await writer.prepare()
  expect(seen.map((s) => [s.method, s.path])).toEqual(
    Array.from({ length: SCHEMA_STATEMENTS }, () => ['POST', '/query']),
  )
  expect(seen.map((s) => s.query.get('q')?.split(' ').slice(0, 3).join(' '))).toEqual([
    'CREATE DATABASE "evmon_w"',
    'CREATE RETENTION POLICY',
    'CREATE RETENTION POLICY',
    'SHOW CONTINUOUS QUERIES',
    'CREATE CONTINUOUS QUERY',
    'CREATE CONTINUOUS QUERY',
  ])
  await expect(writer.prepare()).rejects.toThrow(/unauthorized/)
})

test('data errors are final, server and auth errors are retryable', async () => {
  const { url } = await stub([
    [400, '{"error":"partial write: field type conflict: dropped=1"}'],
    [413, '{"error":"Request Entity Too Large"}'],
    [500, '{"error":"engine: error syncing wal"}'],
    [503, ''],
    [401, '{"error":"authorization failed"}'],
  ])
  writer = createInfluxV1Writer(options(url))
  const outcomes = []
  for (let i = 0; i < 5; i++) {
    const err = await failure(writer.write(['m f=1 1']))
    outcomes.push([err.status ?? 'network', err.retryable])
  }
  expect(outcomes[0]).toEqual([400, false])
  expect(outcomes[1]).toEqual([413, false])
  // The pool's 5xx errors carry no status; they are retryable all the same.
  expect(outcomes.slice(2, 4).map(([, retryable]) => retryable)).toEqual([true, true])
  expect(outcomes[4]).toEqual([401, true])
})

test('the host stays in use after failures: each retry reaches the server', async () => {
  const { url, seen } = await stub([
    [500, ''],
    [500, ''],
    [500, ''],
    [204, ''],
  ])
  writer = createInfluxV1Writer(options(url))
  for (let i = 0; i < 3; i++)
    expect((await failure(writer.write(['m f=1 1']))).message).not.toMatch(/No host/)
  await writer.write(['m f=1 1'])
  expect(seen).toHaveLength(4)
})

test('an unreachable server is a retryable failure', async () => {
  const { url } = await stub([[204, '']])
  await new Promise((r) => server!.close(r))
  server = undefined
  writer = createInfluxV1Writer(options(url))
  expect((await failure(writer.write(['m f=1 1']))).retryable).toBe(true)
})

test('a write to a dropped database recreates it, and the retry succeeds', async () => {
  const { url, seen } = await stub([
    [404, '{"error":"database not found: \\"evmon_w\\""}'],
    ...Array.from({ length: SCHEMA_STATEMENTS }, () => OK_RESULT),
    [204, ''],
  ])
  writer = createInfluxV1Writer(options(url))
  const err = await failure(writer.write(['m f=1 1']))
  expect([err.status, err.retryable]).toEqual([404, true])
  expect(seen[1]?.query.get('q')).toBe('CREATE DATABASE "evmon_w"')
  await writer.write(['m f=1 1'])
  expect(seen.map((s) => s.path)).toEqual([
    '/write',
    ...Array.from({ length: SCHEMA_STATEMENTS }, () => '/query'),
    '/write',
  ])
})
