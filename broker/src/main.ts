import { loadConfig } from './config.ts'
import { start } from './broker.ts'

// Thin entry point: env in, signals wired; everything else lives in start() so tests can run it.
const config = (() => {
  try {
    return loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
})()
const broker = await start(config)
console.log(`broker: MQTT ${broker.mqttUrl}, WebSocket ${broker.wsUrl}`)
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    void broker.close().then(() => process.exit(0))
  })
}
