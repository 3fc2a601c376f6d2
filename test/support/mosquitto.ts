import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Debian's mosquitto, which the compose `scale` profile runs (in its own image). */
export const MOSQUITTO = '/usr/sbin/mosquitto'

const deployDir = fileURLToPath(new URL('../../deploy/mosquitto/', import.meta.url))
/** The `scale` profile's ACL: ingest reads station topics, the simulator writes them. */
export const PROFILE_ACL = join(deployDir, 'acl')

export interface MosquittoOptions {
  /** Configuration, password file and persistence go under here. */
  dir: string
  port: number
  /** Accounts: user name → password (hashed with mosquitto_passwd, as the profile's container does). */
  users: Record<string, string>
  /** ACL file; the profile's own by default. */
  aclFile?: string
}

export interface MosquittoHandle {
  url: string
  pid: number
  /** What mosquitto printed so far. */
  log(): string
  stop(): Promise<void>
}

/**
 * Starts mosquitto with the `scale` profile's configuration (deploy/mosquitto/mosquitto.conf): only what a
 * container changes differs — the listener is on loopback at `port`, and the container paths are under
 * `dir`. Resolves once it accepts connections.
 */
export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoHandle> {
  if (spawnSync('sh', ['-c', `test -x ${MOSQUITTO} && command -v mosquitto_passwd`]).status !== 0) {
    throw new Error(
      `${MOSQUITTO} or mosquitto_passwd not found. Install Debian's mosquitto as root: apt-get install -y mosquitto ` +
        '(npm test does this through scripts/bootstrap.mjs --test).',
    )
  }
  const data = join(options.dir, 'data')
  mkdirSync(data, { recursive: true })
  const passwd = join(data, 'passwd')
  writeFileSync(
    passwd,
    Object.entries(options.users)
      .map(([user, password]) => `${user}:${password}\n`)
      .join(''),
  )
  if (spawnSync('mosquitto_passwd', ['-U', passwd]).status !== 0)
    throw new Error('mosquitto_passwd -U failed')
  const conf = readFileSync(join(deployDir, 'mosquitto.conf'), 'utf8')
    .replace(/^listener 1883$/m, `listener ${options.port} 127.0.0.1`)
    .replace(/^password_file \/mosquitto\/data\/passwd$/m, `password_file ${passwd}`)
    .replace(/^acl_file \/mosquitto\/config\/acl$/m, `acl_file ${options.aclFile ?? PROFILE_ACL}`)
    .replace(/^persistence_location \/mosquitto\/data\/$/m, `persistence_location ${data}/`)
  if (/ \/mosquitto\//.test(conf))
    throw new Error('deploy/mosquitto/mosquitto.conf has a container path this helper does not replace')
  // Started as root, mosquitto drops to user `mosquitto`, who cannot read this private directory (in the
  // image its files are the mosquitto user's): keep the user we run as.
  const confFile = join(options.dir, 'mosquitto.conf')
  writeFileSync(confFile, `${conf}user ${userInfo().username}\n`)
  const output: string[] = []
  const child = spawn(MOSQUITTO, ['-c', confFile], { stdio: ['ignore', 'pipe', 'pipe'] })
  for (const stream of [child.stdout, child.stderr])
    stream?.on('data', (d: Buffer) => output.push(d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const deadline = Date.now() + 10_000
  while (!(await accepts(options.port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`mosquitto did not start on port ${options.port}:\n${output.join('')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    url: `mqtt://127.0.0.1:${options.port}`,
    pid: child.pid as number,
    log: () => output.join(''),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    },
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
