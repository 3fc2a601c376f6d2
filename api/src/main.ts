import { ConfigError, loadConfig, start } from './index.ts'

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  console.error(err.message)
  process.exit(1)
}

const api = await start(config)

const shutdown = (): void => {
  api.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error('api did not close cleanly', err)
      process.exit(1)
    },
  )
}
// `once`: a second signal gets Node's default handling, so an API stuck closing can still be stopped.
process.once('SIGINT', shutdown)
process.once('SIGTERM', shutdown)
