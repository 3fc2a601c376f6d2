import { configOrExit, createLogger, stopOnSignal } from '@evmon/runtime'
import { runCli } from './cli.ts'
import { gatewayEnv, loadConfig } from './config.ts'
import { start } from './gateway.ts'

// Thin entry point: charger commands, or env in and signals wired; the rest lives in start().
const args = process.argv.slice(2)
if (args.length > 0) {
  const file = process.env[gatewayEnv.chargers.name] || gatewayEnv.chargers.default
  process.exit(await runCli(args, file, (line) => console.log(line)))
}
const logger = createLogger('gateway')
const config = configOrExit(logger, loadConfig)
const gateway = await start({ ...config, log: (line) => logger.info(line) })
logger.info({ ocpp: gateway.ocppUrl, tlsPort: gateway.tlsPort }, 'gateway started')
stopOnSignal(
  async (signal) => {
    logger.info({ signal }, 'stopping')
    await gateway.close()
  },
  { onFailure: (_reason, err) => logger.error({ err }, 'shutdown failed') },
)
