import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, expect, test } from 'vitest'
import { freePorts } from './support/ports.ts'
import { repoRoot } from '../scripts/stack.ts'

// `npm start` when its ports are taken — an evmon left running after its terminal's `npm start` was
// killed, or another program: it names every taken port and the variable that moves it, and starts
// nothing. (Before, the new InfluxDB and Redis answered through the old ones' ports and the broker
// crashed half-way through the start with a raw EADDRINUSE stack trace.)
const dir = mkdtempSync(join(tmpdir(), 'evmon-start-ports-'))
const held: Server[] = []
afterAll(async () => {
  for (const server of held) await new Promise((resolve) => server.close(resolve))
  rmSync(dir, { recursive: true, force: true })
})

async function hold(port: number): Promise<void> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  held.push(server)
}

test('npm start names the ports in use and the variables that move them, and starts nothing', async () => {
  const [mqtt, api, ...rest] = await freePorts(9)
  const ports = rest as [number, number, number, number, number, number, number]
  await hold(mqtt as number)
  await hold(api as number)
  const varDir = join(dir, 'var')
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/run-stack.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      EVMON_VAR_DIR: varDir,
      EVMON_MQTT_PORT: String(mqtt),
      EVMON_HTTP_PORT: String(api),
      EVMON_INFLUX_PORT: String(ports[0]),
      EVMON_REDIS_PORT: String(ports[1]),
      EVMON_MQTT_WS_PORT: String(ports[2]),
      EVMON_GATEWAY_PORT: String(ports[3]),
      EVMON_BROKER_METRICS_PORT: String(ports[4]),
      EVMON_INGEST_METRICS_PORT: String(ports[5]),
      EVMON_SIM_METRICS_PORT: String(ports[6]),
    },
    encoding: 'utf8',
    timeout: 60_000,
  })
  expect(run.status, run.stderr).toBe(2)
  expect(run.stderr).toContain(`${mqtt} (EVMON_MQTT_PORT)`)
  expect(run.stderr).toContain(`${api} (EVMON_HTTP_PORT)`)
  expect(run.stderr).toMatch(/Another evmon may still be running/)
  // Nothing was started: no InfluxDB data directory, no Redis, no broker.
  expect(existsSync(join(varDir, 'influxdb'))).toBe(false)
  expect(existsSync(join(varDir, 'redis'))).toBe(false)
  expect(run.stdout).not.toContain('[broker]')
}, 90_000)
