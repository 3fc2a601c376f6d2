import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startInfluxd } from './influxd.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the real InfluxDB 1.x the integration and e2e tests run against. */
    influxUrl: string
  }
}

// One real influxd for the whole run (port 0, temporary directory), or EVMON_INFLUX_URL when set.
// Tests isolate themselves by database name. A missing influxd fails the run with the install hint.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.EVMON_INFLUX_URL
  if (external) {
    project.provide('influxUrl', external)
    return async () => {}
  }
  const dir = mkdtempSync(join(tmpdir(), 'evmon-influx-'))
  const influx = await startInfluxd({ dir, port: 0 })
  project.provide('influxUrl', influx.url)
  return async () => {
    await influx.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
