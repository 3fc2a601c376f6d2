import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:net'
import { stationTopic } from '@evmon/contracts'
import { expect, inject, test } from 'vitest'
import { freePort } from '../../test/support/ports.ts'
import { silentLogger, start } from '../src/index.ts'
import { publisher, query, telemetry, testConfig, waitFor } from './helpers.ts'

const influxUrl = inject('influxUrl')
const MOSQUITTO = '/usr/sbin/mosquitto'

/** A private mosquitto (MQTT 5, shared subscriptions) on a free loopback port. */
async function startMosquitto() {
  if (spawnSync('sh', ['-c', `test -x ${MOSQUITTO}`]).status !== 0) {
    throw new Error(
      `${MOSQUITTO} not found. Install Debian's mosquitto as root: apt-get install -y mosquitto ` +
        '(npm test does this through scripts/bootstrap.mjs --test).',
    )
  }
  const dir = mkdtempSync(join(tmpdir(), 'evmon-mosquitto-'))
  const port = await freePort()
  writeFileSync(
    join(dir, 'mosquitto.conf'),
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      // The default of 1,000 silently drops QoS 1 messages for a slow subscriber (docs/design.md pitfalls).
      'max_queued_messages 0',
      'max_inflight_messages 0',
      '',
    ].join('\n'),
  )
  const child = spawn(MOSQUITTO, ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' })
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1')
        socket.once('connect', () => {
          socket.destroy()
          resolve(true)
        })
        socket.once('error', () => resolve(false))
      }),
    'mosquitto listening',
  )
  return { url: `mqtt://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') }
}

test('two instances in one share group split the messages: each point stored exactly once', async () => {
  const mosquitto = await startMosquitto()
  const shared = testConfig(influxUrl, mosquitto.url, { shareGroup: 'evmon-ingest' })
  const instances = await Promise.all(
    [1, 2].map((i) => {
      const own = testConfig(influxUrl, mosquitto.url)
      return start(
        {
          ...shared,
          clientId: `${shared.clientId}-${i}`,
          spoolDir: own.spoolDir,
          deadLetterPath: own.deadLetterPath,
        },
        { logger: silentLogger },
      )
    }),
  )
  const pub = await publisher(mosquitto.url)
  try {
    const base = Date.now() - 3_600_000
    const messages = 2_000
    await Promise.all(
      Array.from({ length: messages }, (_, i) =>
        pub.publishAsync(
          stationTopic('beibei', `st-${i % 20}`, 'telemetry'),
          JSON.stringify(telemetry(base + i * 1_000, i)),
          {
            qos: 1,
          },
        ),
      ),
    )
    const received = () => instances.map((i) => i.stats().messagesReceived)
    await waitFor(
      () => received()[0]! + received()[1]! === messages,
      'every message received by one instance',
    )
    await waitFor(
      () => instances.every((i) => i.stats().unackedMessages === 0 && i.stats().pendingPoints === 0),
      'all written',
    )
    expect(received().every((n) => n > 0)).toBe(true)
    const count = await query(influxUrl, shared.influxDb, 'SELECT count(grid_power_w) FROM station')
    expect(count[0]?.[1]).toBe(messages)
    expect(instances.reduce((n, i) => n + i.stats().pointsWritten, 0)).toBe(messages * 3)
  } finally {
    await pub.endAsync()
    await Promise.all(instances.map((i) => i.close()))
    mosquitto.stop()
  }
})
