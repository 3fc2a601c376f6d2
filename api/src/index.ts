import type { AddressInfo } from 'node:net'
import { buildApp, type AppDeps } from './app.ts'
import type { ApiConfig } from './config.ts'

export { buildApp, type AppDeps } from './app.ts'
export { ConfigError, apiEnv, loadConfig, type ApiConfig } from './config.ts'

/** A running API. */
export interface ApiHandle {
  /** Base URL, e.g. `http://127.0.0.1:8080` (the real port when the config asked for 0). */
  url: string
  /** Stops listening, closes WebSockets, the MQTT client and pending InfluxDB queries; safe to call twice. */
  close(): Promise<void>
}

/** Builds the API and listens on `config.httpHost:httpPort`. */
export async function start(config: Readonly<ApiConfig>, deps: AppDeps = {}): Promise<ApiHandle> {
  const app = await buildApp(config, deps)
  try {
    await app.listen({ host: config.httpHost, port: config.httpPort })
  } catch (err) {
    await app.close()
    throw err
  }
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  let closing: Promise<void> | null = null
  return {
    url: `http://${host}:${address.port}`,
    close: () => (closing ??= app.close()),
  }
}
