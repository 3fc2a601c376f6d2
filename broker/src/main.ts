import { join } from 'node:path'
import { configOrExit, createLogger, stopOnSignal } from '@evmon/runtime'
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
const logger = createLogger('broker')
const config = configOrExit(logger, loadConfig)
const broker = await start({ ...config, log: (line) => logger.warn(line) })
logger.info(
  { mqtt: broker.mqttUrl, ws: broker.wsUrl, tlsPort: broker.tlsPort, metricsPort: broker.metricsPort },
  config.credentialsFile ? 'broker started' : 'broker started with ANONYMOUS ACCESS, for local testing only',
)
// The broker also watches the file; SIGHUP is for file systems where watching does not work.
process.on('SIGHUP', () => {
  logger.info('SIGHUP: reloading credentials')
  broker.reloadCredentials()
})
stopOnSignal(
  async (signal) => {
    logger.info({ signal }, 'stopping: no new publishes, handing queued messages over')
    await broker.close()
    logger.info('stopped')
  },
  {
    // close() waits at most drainMs for messages; this bounds the rest (connections, Redis).
    limitMs: (config.drainMs ?? 0) + 5_000,
    onFailure: (reason, err) =>
      logger.error({ err }, `shutdown ${reason === 'timeout' ? 'took too long' : 'failed'}; exiting`),
  },
)
