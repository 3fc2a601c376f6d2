import { createServer, type Server, type Socket } from 'node:net'
import { start as startBroker } from '@evmon/broker'
import { afterEach, describe, expect, test } from 'vitest'
import { createPublisher, type Logger, type Publisher, type PublisherOptions } from '../src/publisher.ts'

const silent: Logger = { info: () => {}, warn: () => {} }
const STATIONS = Array.from({ length: 30 }, (_, i) => `st-${i + 1}`)

const options = (url: string): PublisherOptions => ({
  url,
  site: 'ramp',
  stations: STATIONS,
  nowMs: () => Date.now(),
  reconnectPeriodMs: 1000,
  connectTimeoutMs: 60_000,
  connectsPerSecond: 1000,
  maxConnectsPending: 5,
  maxStationsLoggedEach: 100,
  summaryIntervalMs: 60_000,
  log: silent,
})

describe('the connection ramp', () => {
  let publisher: Publisher | undefined
  let server: Server | undefined
  const sockets: Socket[] = []

  afterEach(async () => {
    await publisher?.close(Date.now(), 100)
    publisher = undefined
    for (const socket of sockets.splice(0)) socket.destroy()
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)))
    server = undefined
  })

  test('opens no more connections than maxConnectsPending while the broker has not answered', async () => {
    // A TCP listener that accepts connections and never answers CONNECT: a broker still busy
    // authenticating. At 1,000 connects/s all 30 stations would be connecting within 50 ms.
    server = createServer((socket) => sockets.push(socket))
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (!address || typeof address === 'string') throw new Error('no port')
    publisher = createPublisher(options(`mqtt://127.0.0.1:${address.port}`))
    await new Promise((r) => setTimeout(r, 500))
    expect(sockets.length).toBe(5)
  })

  test('every station connects through the bounded ramp to a real broker', async () => {
    const broker = await startBroker({
      host: '127.0.0.1',
      mqttPort: 0,
      wsPort: 0,
      wsPath: '/mqtt',
      log: () => {},
    })
    try {
      publisher = createPublisher(options(broker.mqttUrl))
      await publisher.allConnected()
      // Each station announces itself online on connecting.
      await publisher.inFlightAtMost(0)
      expect(publisher.acknowledged).toBe(STATIONS.length)
      await publisher.close(Date.now(), 5000)
      publisher = undefined
    } finally {
      await broker.close()
    }
  })
})
