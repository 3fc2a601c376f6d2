import { spawn, spawnSync } from 'node:child_process'
import { createConnection } from 'node:net'
import { freePort } from './ports.ts'

export interface RedisHandle {
  url: string
  stop(): Promise<void>
}

export const REDIS_INSTALL_HINT =
  'redis-server is not installed. On Debian/Ubuntu as root: apt-get update && apt-get install -y redis-server ' +
  '(npm test does this for you through scripts/bootstrap.mjs --test).'

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

/** A private, memory-only redis-server on a free loopback port (for tests and local clustering). */
export async function startRedis(): Promise<RedisHandle> {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(REDIS_INSTALL_HINT)
  }
  const port = await freePort()
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  )
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await answersPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`redis-server did not start on port ${port}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
