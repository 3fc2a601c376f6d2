import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { start as startBroker } from '@evmon/broker'
import { decodeMessage, messageToPoints, stationTopic, toLine } from '@evmon/contracts'
import { afterEach, expect, test } from 'vitest'
import { silentLogger, start } from '../src/index.ts'
import { createInfluxV2Writer } from '../src/influx-v2-writer.ts'
import { WriteError } from '../src/line-writer.ts'
import { publisher, telemetry, testConfig, waitFor } from './helpers.ts'

interface Seen {
  method: string
  path: string
  query: Record<string, string>
  authorization: string | undefined
  body: string
}

let server: Server | undefined
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)))
  server = undefined
})

/** A stand-in InfluxDB 2.x answering each request with the next of `answers` (the last one repeats). */
async function stub(answers: [status: number, body: string][]): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = []
  server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const url = new URL(req.url ?? '/', 'http://x')
    seen.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      body,
    })
    const [status, text] = answers[Math.min(seen.length - 1, answers.length - 1)] as [number, string]
    res.writeHead(status, text ? { 'content-type': 'application/json' } : {}).end(text)
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, seen }
}

const options = (url: string) => ({
  url,
  token: 'tok-123',
  org: 'evmon org',
  bucket: 'raw',
  timeoutMs: 2_000,
})

test('lines are posted to /api/v2/write with org, bucket, precision ms and the token', async () => {
  const { url, seen } = await stub([[204, '']])
  const writer = createInfluxV2Writer(options(url))
  await writer.write(['station,site=a,station=b grid_power_w=1 1', 'event,site=a vendor_error="x \\"y\\"" 2'])
  expect(seen).toEqual([
    {
      method: 'POST',
      path: '/api/v2/write',
      query: { org: 'evmon org', bucket: 'raw', precision: 'ms' },
      authorization: 'Token tok-123',
      body: 'station,site=a,station=b grid_power_w=1 1\nevent,site=a vendor_error="x \\"y\\"" 2',
    },
  ])
})

test('data errors are final, server, rate-limit and auth errors are retryable', async () => {
  const { url } = await stub([
    [400, '{"code":"invalid","message":"partial write error (1 written): unable to parse"}'],
    [422, '{"code":"unprocessable entity","message":"points beyond retention policy dropped=1"}'],
    [429, ''],
    [503, '{"code":"unavailable","message":"service unavailable"}'],
    [401, '{"code":"unauthorized","message":"unauthorized access"}'],
  ])
  const writer = createInfluxV2Writer(options(url))
  const outcomes: [number | undefined, boolean, string][] = []
  for (let i = 0; i < 5; i++) {
    const err = await writer.write(['m f=1 1']).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(WriteError)
    const { status, retryable, message } = err as WriteError
    outcomes.push([status, retryable, message])
  }
  expect(outcomes.map(([status, retryable]) => [status, retryable])).toEqual([
    [400, false],
    [422, false],
    [429, true],
    [503, true],
    [401, true],
  ])
  expect(outcomes[0]?.[2]).toMatch(/unable to parse/)
})

test('an unreachable server is a retryable failure', async () => {
  const { url } = await stub([[204, '']])
  await new Promise((r) => server!.close(r))
  server = undefined
  const err = await createInfluxV2Writer(options(url))
    .write(['m f=1 1'])
    .catch((e: unknown) => e)
  expect(err).toMatchObject({ retryable: true })
})

test('with EVMON_INFLUX_API=v2 the ingest writes the contract lines of each message to the v2 API', async () => {
  const { url, seen } = await stub([[204, '']])
  const broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    wsPort: 0,
    wsPath: '/mqtt',
    log: () => {},
  })
  const config = {
    ...testConfig(url, broker.mqttUrl),
    influxApi: 'v2' as const,
    influxOrg: 'evmon',
    influxToken: 'tok-456',
    influxBucket: 'evmon_raw',
  }
  const ingest = await start(config, { logger: silentLogger })
  const pub = await publisher(broker.mqttUrl)
  const topic = stationTopic('beibei', 'zn-super', 'telemetry')
  const payload = Buffer.from(JSON.stringify(telemetry(Date.now() - 60_000, 42)))
  await pub.publishAsync(topic, payload, { qos: 1 })
  await waitFor(() => ingest.stats().pointsWritten === 3, 'points written')
  await Promise.all([ingest.close(), pub.endAsync()])
  await broker.close()

  const decoded = decodeMessage(topic, payload, Date.now())
  if (!decoded.ok) throw new Error(decoded.detail)
  const writes = seen.filter((s) => s.path === '/api/v2/write')
  expect(writes.map((w) => [w.query, w.authorization])).toEqual([
    [{ org: 'evmon', bucket: 'evmon_raw', precision: 'ms' }, 'Token tok-456'],
  ])
  expect(writes[0]?.body.split('\n')).toEqual(messageToPoints(decoded.message, 0).map(toLine))
})
