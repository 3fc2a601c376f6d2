import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createConnection } from 'node:net'
import { freePort } from './ports.ts'

export interface RedisHandle {
  url: string
  port: number
  /** SIGTERM: Redis writes its append-only file out and exits. */
  stop(): Promise<void>
  /** Resolves when redis-server exits, stopped or not. */
  exited: Promise<void>
}

export interface RedisOptions {
  /**
   * Data directory: the append-only file lives here and a restart on the same directory brings every
   * key back. Absent: memory only (tests that do not restart Redis).
   */
  dir?: string
  /** Loopback port; 0 or absent picks a free one. */
  port?: number
}

export const REDIS_INSTALL_HINT =
  'redis-server is not installed. On Debian/Ubuntu as root: apt-get update && apt-get install -y redis-server ' +
  '(npm start and npm test do this for you through scripts/bootstrap.mjs), or set EVMON_REDIS_URL to a running Redis.'

async function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'))
    socket.once('data', (data) => {
      socket.destroy()
      resolve(data.toString().startsWith('+PONG'))
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A private redis-server on loopback. With a data directory it keeps an append-only file: Redis
 * writes every command to it before answering, so a killed redis-server loses nothing it acknowledged
 * (the file is fsync'd once a second, so only a crash of the whole machine can cost up to a second).
 */
export async function startRedis(options: RedisOptions = {}): Promise<RedisHandle> {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(REDIS_INSTALL_HINT)
  }
  const port = options.port || (await freePort())
  const storage = options.dir
    ? ['--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'everysec']
    : ['--appendonly', 'no']
  if (options.dir) mkdirSync(options.dir, { recursive: true })
  // No RDB snapshots either way: with a directory the append-only file is the one copy.
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...storage],
    {
      stdio: 'ignore',
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Loading a large append-only file takes a while; Redis answers LOADING until it is done.
  const deadline = Date.now() + 60_000
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(
        `redis-server did not start on port ${port}${options.dir ? ` (data in ${options.dir})` : ''}`,
      )
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(timer)
    },
  }
}
