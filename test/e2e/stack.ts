import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { influxEnv, readEnv } from '@evmon/runtime'
import { inject } from 'vitest'
import { freePorts } from '../support/ports.ts'
import { startStack, type StackHandle, type StackOptions } from '../../scripts/stack.ts'

export interface TestStack extends StackHandle {
  /** Everything the services printed, for failure messages. */
  logs: string[]
  /** Services that exited while the test ran. */
  crashes: string[]
  /** The simulator's control API (inject faults, plug in cars), e.g. `http://127.0.0.1:PORT`. */
  simulatorUrl: string
  /** Ingest's `/metrics`. */
  ingestMetricsUrl: string
  /** This stack's own database in the test run's InfluxDB. */
  influxDb: string
}

/**
 * The whole stack as `npm start` runs it, on free ports, against the test run's InfluxDB, in a
 * database of its own (dropped when it stops): a test can never pass on another stack's data.
 * `simulation` changes the simulated site's seed (7), speed (1) or first-start past (none).
 */
export async function startTestStack(
  simulation: Partial<Pick<StackOptions, 'simSeed' | 'simSpeed' | 'firstStartBackfillS'>> = {},
): Promise<TestStack> {
  const influxDb = `evmon_e2e_${randomBytes(6).toString('hex')}`
  const varDir = mkdtempSync(join(tmpdir(), 'evmon-e2e-'))
  const logs: string[] = []
  const crashes: string[] = []
  const [simulatorPort, ingestPort] = (await freePorts(2)) as [number, number]
  const stack = await startStack({
    varDir,
    influxUrl: inject('influxUrl'),
    influxDb,
    influxPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    mqttWsPort: 0,
    metricsPorts: { broker: 0, ingest: ingestPort, simulator: simulatorPort },
    simSeed: 7,
    simSpeed: 1,
    ...simulation,
    log: (line) => logs.push(line),
    onExit: (service, code) => crashes.push(`${service} exited with code ${code}`),
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n--- service output ---\n${logs.slice(-80).join('\n')}`)
  })
  return {
    ...stack,
    logs,
    crashes,
    simulatorUrl: `http://127.0.0.1:${simulatorPort}`,
    ingestMetricsUrl: `http://127.0.0.1:${ingestPort}/metrics`,
    influxDb,
    async stop() {
      await stack.stop()
      rmSync(varDir, { recursive: true, force: true })
      // With the credentials the services were given (an external InfluxDB may require them).
      const { influxUsername: user, influxPassword: password } = readEnv(influxEnv, process.env).values
      const auth: Record<string, string> =
        user === undefined ? {} : { authorization: `Basic ${btoa(`${user}:${password ?? ''}`)}` }
      const q = encodeURIComponent(`DROP DATABASE "${influxDb}"`)
      const drop = await fetch(`${stack.influxUrl}/query?q=${q}`, { method: 'POST', headers: auth })
      if (!drop.ok)
        throw new Error(`dropping the stack's database ${influxDb}: HTTP ${drop.status} ${await drop.text()}`)
    },
  }
}
