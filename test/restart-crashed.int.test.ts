import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { freePorts } from './support/ports.ts'
import { startStack, type StackHandle } from '../scripts/stack.ts'

// `npm start` is the supervisor of its own stack: a service that dies (an OOM kill, a crash) is started
// again, as compose's `restart: unless-stopped` does, instead of leaving the site unmonitored until
// someone notices. Here ingest, the broker, InfluxDB and Redis are SIGKILLed in turn; each comes back by
// itself and telemetry is stored again.
const influxDb = 'evmon'
const varDir = mkdtempSync(join(tmpdir(), 'evmon-restart-crashed-'))
const logs: string[] = []
let stack: StackHandle | undefined

afterAll(async () => {
  await stack?.stop()
  rmSync(varDir, { recursive: true, force: true })
})

/** The pid of the one process that passes `test` (given its pid), or undefined. */
function pidWhere(test: (pid: string) => boolean): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (test(entry)) return Number(entry)
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined
}
const withEnv = (marker: string) => (pid: string) =>
  readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms\n${logs.slice(-30).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

async function storedSince(influxUrl: string, t: number): Promise<number> {
  const q = encodeURIComponent(`SELECT count(grid_power_w) FROM station WHERE time >= ${t}ms`)
  const body = (await (await fetch(`${influxUrl}/query?db=${influxDb}&q=${q}`)).json()) as {
    results: Array<{ series?: Array<{ values: unknown[][] }> }>
  }
  return Number(body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0)
}

test('a service, InfluxDB or Redis killed under npm start is started again by itself and telemetry is stored again', async () => {
  const [brokerMetrics, ingestMetrics] = (await freePorts(2)) as [number, number]
  const exits: string[] = []
  // Its own InfluxDB and Redis, as npm start runs them.
  const running = await startStack({
    varDir,
    influxDb,
    influxPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    mqttWsPort: 0,
    metricsPorts: { broker: brokerMetrics, ingest: ingestMetrics, simulator: 0 },
    simSeed: 3,
    simSpeed: 1,
    log: (line) => logs.push(line),
    onExit: (service) => exits.push(service),
    restartCrashed: true,
  })
  stack = running
  const answers = (url: string) => async () => (await fetch(url)).ok
  const victims: Array<[name: string, test: (pid: string) => boolean, up: () => Promise<boolean>]> = [
    [
      'ingest',
      withEnv(`EVMON_INGEST_SPOOL_DIR=${join(varDir, 'ingest', 'spool')}`),
      answers(`http://127.0.0.1:${ingestMetrics}/healthz`),
    ],
    [
      'broker',
      withEnv(`EVMON_BROKER_CREDENTIALS=${join(varDir, 'broker', 'credentials.json')}`),
      answers(`http://127.0.0.1:${brokerMetrics}/healthz`),
    ],
    // influxd's command line names its configuration file; redis-server runs in its data directory.
    [
      'influxd',
      (pid) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(join(varDir, 'influxdb')),
      answers(`${running.influxUrl}/ping`),
    ],
    [
      'redis-server',
      (pid) => realpathSync(`/proc/${pid}/cwd`) === realpathSync(join(varDir, 'redis')),
      async () => true,
    ],
  ]
  for (const [name, test, up] of victims) {
    const pid = pidWhere(test)
    expect(pid, `${name}'s process`).toBeDefined()
    process.kill(pid as number, 'SIGKILL')
    await until(`${name} started again`, async () => ![undefined, pid].includes(pidWhere(test)), 15_000)
    await until(`${name} answering again`, up, 60_000)
    const back = Date.now()
    // Stations reconnect, the broker queues, ingest writes again: new points are stored after it.
    await until(
      `telemetry stored after ${name} came back`,
      async () => (await storedSince(running.influxUrl, back)) > 0,
      60_000,
    )
  }
  expect(exits).toEqual(['ingest', 'broker', 'influxd', 'redis-server'])
  expect(logs.filter((l) => /exited \((SIGKILL|by itself)\); restarting it in/.test(l))).toHaveLength(4)
}, 300_000)
