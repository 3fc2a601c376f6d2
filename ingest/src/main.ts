import { stopOnSignal } from '@evmon/runtime'
import { isCliCommand, runCli } from './cli.ts'
import { ConfigError, jsonLogger, loadConfig, start } from './index.ts'

const logger = jsonLogger('ingest')

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${err.message}\n`)
  process.exit(2)
}

// `npm run ingest -- dead-letters` / `redrive …`: a command on the same configuration, then exit.
const [command, ...args] = process.argv.slice(2)
if (isCliCommand(command)) process.exit(await runCli(command, args, config))
if (command !== undefined) {
  process.stderr.write(`unknown command ${command}: try dead-letters or redrive\n`)
  process.exit(2)
}

const ingest = await start(config, { logger })

// A second signal means "now": the flush is skipped; the broker still holds every unacknowledged message.
stopOnSignal(
  async (signal) => {
    logger.info('stopping', { signal })
    await ingest.close()
  },
  { onFailure: (_reason, err) => logger.error('close failed', { error: String(err) }) },
)
