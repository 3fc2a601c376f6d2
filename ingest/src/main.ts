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

const ingest = await start(config, { logger })

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // A second signal means "now": skip the flush; the broker still holds every unacknowledged message.
    if (stopping) process.exit(1)
    stopping = true
    logger.info('stopping', { signal })
    ingest.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('close failed', { error: String(err) })
        process.exit(1)
      },
    )
  })
}
