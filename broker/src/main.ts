import { join } from 'node:path'
import { runCli } from './cli.ts'
import { loadConfig } from './config.ts'
import { start } from './broker.ts'

// Thin entry point: account commands, or env in and signals wired; the rest lives in start().
const args = process.argv.slice(2)
if (args.length > 0) {
  const file =
    process.env.EVMON_BROKER_CREDENTIALS || join(process.cwd(), 'var', 'broker', 'credentials.json')
  process.exit(await runCli(args, file, (line) => console.log(line)))
}
const config = (() => {
  try {
    return loadConfig()
  } catch (err) {
    console.error((err as Error).message)
    process.exit(2)
  }
})()
const broker = await start(config)
console.log(
  `broker: MQTT ${broker.mqttUrl}, WebSocket ${broker.wsUrl}` +
    (broker.tlsPort ? `, TLS port ${broker.tlsPort}` : '') +
    (config.credentialsFile ? '' : ' — ANONYMOUS ACCESS, for local testing only'),
)
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    void broker.close().then(() => process.exit(0))
  })
}
