import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, inject, test } from 'vitest'
import { freePorts } from './support/ports.ts'
import { startStack, type StackHandle } from '../scripts/stack.ts'

// `npm start` is the supervisor of its own stack: a service that dies (an OOM kill, a crash) is started
// again, as compose's `restart: unless-stopped` does, instead of leaving the site unmonitored until
// someone notices. Here ingest and the broker are SIGKILLed in turn; each comes back by itself and
// telemetry is stored again.
const influxUrl = inject('influxUrl')
const influxDb = `restart_crashed_${randomBytes(6).toString('hex')}`
const varDir = mkdtempSync(join(tmpdir(), 'evmon-restart-crashed-'))
const logs: string[] = []
let stack: StackHandle | undefined

afterAll(async () => {
  await stack?.stop()
  rmSync(varDir, { recursive: true, force: true })
  await fetch(`${influxUrl}/query?q=${encodeURIComponent(`DROP DATABASE "${influxDb}"`)}`, { method: 'POST' })
})

/** The pid of this stack's process whose environment holds `marker` (its own var dir is in it). */
function pidWithEnv(marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) return Number(entry)
    } catch {
      // Gone, or not ours to read.
    }
  }
  throw new Error(`no process with ${marker} in its environment`)
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms\n${logs.slice(-30).join('\n')}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

async function storedSince(t: number): Promise<number> {
  const q = encodeURIComponent(`SELECT count(grid_power_w) FROM station WHERE time >= ${t}ms`)
  const body = (await (await fetch(`${influxUrl}/query?db=${influxDb}&q=${q}`)).json()) as {
    results: Array<{ series?: Array<{ values: unknown[][] }> }>
  }
  return Number(body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0)
}

test('a service killed under npm start is started again by itself and telemetry is stored again', async () => {
  const [brokerMetrics, ingestMetrics] = await freePorts(2)
  const exits: string[] = []
  stack = await startStack({
    varDir,
    influxUrl,
    influxDb,
    influxPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    mqttWsPort: 0,
    metricsPorts: { broker: brokerMetrics as number, ingest: ingestMetrics as number, simulator: 0 },
    simSeed: 3,
    simSpeed: 1,
    log: (line) => logs.push(line),
    onExit: (service) => exits.push(service),
    restartCrashed: true,
  })
  const healthy = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok
  const victims: Array<[name: string, marker: string, port: number]> = [
    ['ingest', `EVMON_INGEST_SPOOL_DIR=${join(varDir, 'ingest', 'spool')}`, ingestMetrics as number],
    [
      'broker',
      `EVMON_BROKER_CREDENTIALS=${join(varDir, 'broker', 'credentials.json')}`,
      brokerMetrics as number,
    ],
  ]
  for (const [name, marker, port] of victims) {
    const pid = pidWithEnv(marker)
    process.kill(pid, 'SIGKILL')
    await until(`${name} gone`, async () => pidWithEnv(marker) !== pid, 10_000)
    await until(`${name} healthy again`, healthy(port), 60_000)
    const back = Date.now()
    // Stations reconnect and ingest writes again: new points arrive after the restart.
    await until(`telemetry stored after ${name} came back`, async () => (await storedSince(back)) > 0, 60_000)
  }
  expect(exits).toEqual(['ingest', 'broker'])
  expect(logs.filter((l) => /exited \(SIGKILL\); restarting it in/.test(l))).toHaveLength(2)
}, 240_000)
