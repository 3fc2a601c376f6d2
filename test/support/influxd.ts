import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, waitForHttp } from './ports.ts'

export interface InfluxdHandle {
  url: string
  stop(): Promise<void>
  /** Resolves when influxd exits, stopped or not. */
  exited: Promise<void>
}

export interface InfluxdOptions {
  /** Everything influxd writes (meta, data, wal, config, log) goes under here. */
  dir: string
  /** HTTP port; 0 picks a free one. */
  port: number
  /** Send influxd's own log here instead of a file (for foreground use). */
  log?: 'file' | 'inherit'
}

export const INSTALL_HINT =
  'influxd (InfluxDB 1.x) is not installed. On Debian/Ubuntu as root: apt-get update && apt-get install -y influxdb ' +
  '(npm start and npm test do this for you), or set EVMON_INFLUX_URL to a running InfluxDB 1.x.'

/** Starts a private influxd on loopback with its own config and data directory. */
export async function startInfluxd(options: InfluxdOptions): Promise<InfluxdHandle> {
  if (spawnSync('sh', ['-c', 'command -v influxd'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(INSTALL_HINT)
  }
  const port = options.port || (await freePort())
  // The RPC (backup) listener is on by default at 8088; give it a free port so instances don't collide.
  const rpcPort = await freePort()
  for (const sub of ['meta', 'data', 'wal']) mkdirSync(join(options.dir, sub), { recursive: true })
  const configPath = join(options.dir, 'influxdb.conf')
  writeFileSync(
    configPath,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(options.dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(options.dir, 'data')}"`,
      `  wal-dir = "${join(options.dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[subscriber]',
      '  enabled = false',
      '',
    ].join('\n'),
  )
  const child = spawn('influxd', ['run', '-config', configPath], {
    stdio: options.log === 'inherit' ? 'inherit' : ['ignore', 'ignore', 'ignore'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  try {
    await Promise.race([
      waitForHttp(`${url}/ping`, 30_000, 'influxd'),
      exited.then(() => {
        throw new Error(`influxd exited during start-up (config ${configPath}; is port ${port} in use?)`)
      }),
    ])
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    url,
    exited,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}
