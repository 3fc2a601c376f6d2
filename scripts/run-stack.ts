import { assertNoProblems, ConfigError, readEnv } from '@evmon/runtime'
import { createServer } from 'node:net'
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

/** Whether something already listens on `port` at 127.0.0.1 (listening on it ourselves is the sure test). */
function inUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(true))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)))
  })
}

// Every fixed port is checked before anything starts: an evmon left running (its terminal's `npm start`
// killed, its stack still up) would otherwise answer for the new one's InfluxDB and Redis and crash its
// broker half-way through the start.
const fixedPorts: Array<[name: string, port: number]> = [
  ...(options.influxUrl ? [] : [[stackEnv.influxPort.name, options.influxPort] as [string, number]]),
  ...(options.redisUrl ? [] : [[stackEnv.redisPort.name, options.redisPort] as [string, number]]),
  [stackEnv.httpPort.name, options.httpPort],
  [stackEnv.mqttPort.name, options.mqttPort],
  [stackEnv.mqttWsPort.name, options.mqttWsPort],
  [stackEnv.gatewayPort.name, options.gatewayPort],
  [stackEnv.brokerMetricsPort.name, options.metricsPorts.broker],
  [stackEnv.ingestMetricsPort.name, options.metricsPorts.ingest],
  [stackEnv.simMetricsPort.name, options.metricsPorts.simulator],
]
const taken: string[] = []
for (const [name, port] of fixedPorts) if (port !== 0 && (await inUse(port))) taken.push(`${port} (${name})`)
if (taken.length > 0) {
  console.error(
    `evmon cannot start: in use on 127.0.0.1: ${taken.join(', ')}.\n` +
      'Another evmon may still be running (`pgrep -af run-stack` lists it; Ctrl-C in its terminal or `kill <pid>` ' +
      'stops it), or another program has the port: set the variable named to a free port (0 picks any).',
  )
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
  // A service that exits by itself is started again, as compose's `restart: unless-stopped` does
  // (startStack logs it); one that exits during the start fails the start instead.
  restartCrashed: true,
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
