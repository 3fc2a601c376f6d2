import { stopOnSignal } from '@evmon/runtime'
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

// A second signal exits at once, so an API stuck closing can still be stopped.
stopOnSignal(() => api.close(), {
  onFailure: (_reason, err) => console.error('api did not close cleanly', err),
})
