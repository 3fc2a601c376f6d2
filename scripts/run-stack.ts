import { join } from 'node:path'
import { repoRoot, startStack } from './stack.ts'

// `npm start`: the whole stack in the foreground with the simulated Beibei site; Ctrl-C stops it all.
function intFromEnv(name: string, fallback: number, errors: string[]): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0)
    errors.push(`${name}=${JSON.stringify(raw)} is not a whole number >= 0`)
  return value
}

const errors: string[] = []
const options = {
  varDir: process.env.EVMON_VAR_DIR || join(repoRoot, 'var'),
  influxUrl: process.env.EVMON_INFLUX_URL || undefined,
  influxPort: intFromEnv('EVMON_INFLUX_PORT', 8086, errors),
  httpHost: process.env.EVMON_HTTP_HOST || '127.0.0.1',
  httpPort: intFromEnv('EVMON_HTTP_PORT', 8080, errors),
  mqttPort: intFromEnv('EVMON_MQTT_PORT', 1883, errors),
  mqttWsPort: intFromEnv('EVMON_MQTT_WS_PORT', 8083, errors),
  metricsPorts: {
    broker: intFromEnv('EVMON_BROKER_METRICS_PORT', 9101, errors),
    ingest: intFromEnv('EVMON_INGEST_METRICS_PORT', 9102, errors),
    simulator: intFromEnv('EVMON_SIM_METRICS_PORT', 9103, errors),
  },
  simSeed: intFromEnv('EVMON_SIM_SEED', 1, errors),
  simSpeed: intFromEnv('EVMON_SIM_SPEED', 1, errors),
}
if (errors.length > 0) {
  console.error(`npm start: invalid configuration:\n  ${errors.join('\n  ')}`)
  process.exit(2)
}

let stopping = false
const stack = await startStack({
  ...options,
  log: (line) => console.log(line),
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
console.log(`  MQTT: ${stack.mqttUrl}   InfluxDB: ${stack.influxUrl}   (Ctrl-C stops everything)`)
console.log('')
