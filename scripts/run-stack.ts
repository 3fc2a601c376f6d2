import { assertNoProblems, ConfigError, readEnv } from '@evmon/runtime'
import { resolve } from 'node:path'
import { stackEnv } from './stack-env.ts'
import { FIRST_START_BACKFILL_S, repoRoot, startStack } from './stack.ts'

// `npm start`: the whole stack in the foreground with the simulated Beibei site; Ctrl-C stops it all.
function readOptions() {
  const { values: v, problems } = readEnv(stackEnv, process.env)
  assertNoProblems('npm start', problems)
  return {
    varDir: resolve(repoRoot, v.varDir),
    influxUrl: v.influxUrl,
    influxPort: v.influxPort,
    redisUrl: v.redisUrl,
    redisPort: v.redisPort,
    httpHost: v.httpHost,
    httpPort: v.httpPort,
    mqttPort: v.mqttPort,
    mqttWsPort: v.mqttWsPort,
    gatewayPort: v.gatewayPort,
    metricsPorts: { broker: v.brokerMetricsPort, ingest: v.ingestMetricsPort, simulator: v.simMetricsPort },
    simSeed: v.simSeed,
    simSpeed: v.simSpeed,
    firstStartBackfillS: FIRST_START_BACKFILL_S,
  }
}

let options: ReturnType<typeof readOptions>
try {
  options = readOptions()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(err.message)
  process.exit(2)
}

let stopping = false
const stack = await startStack({
  ...options,
  log: (line) => console.log(line),
  // Redrawn in place on a terminal; a log file gets the first start's log lines only.
  progress: (line) => {
    if (process.stderr.isTTY) process.stderr.write(`\r${line}${line.includes('100.0%') ? '\n' : ''}`)
  },
  onExit: (service, code) => {
    if (stopping) return
    console.error(`${service} exited unexpectedly (code ${code}); stopping evmon`)
    void shutdown(1)
  },
}).catch((err: Error) => {
  console.error(`evmon failed to start: ${err.message}`)
  process.exit(1)
})

async function shutdown(code: number): Promise<void> {
  if (stopping) return
  stopping = true
  console.log('evmon: stopping…')
  await stack.stop()
  process.exit(code)
}
process.on('SIGINT', () => void shutdown(0))
process.on('SIGTERM', () => void shutdown(0))

console.log('')
console.log(`  evmon is running — dashboard: ${stack.dashboardUrl}`)
console.log(`  operator/engineer token (this run only): ${stack.devToken}`)
console.log(`  MQTT: ${stack.mqttUrl}   OCPP: ${stack.ocppUrl}   InfluxDB: ${stack.influxUrl}`)
console.log('  (Ctrl-C stops everything)')
console.log('')
