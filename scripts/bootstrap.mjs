// Makes a fresh clone runnable: npm dependencies, and the system programs evmon runs against
// (InfluxDB 1.x and Redis always; Chromium and MQTT tools for the tests). Plain Node, no dependencies, because it
// runs before `npm ci`. Usage: node scripts/bootstrap.mjs [--test]
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const forTests = process.argv.includes('--test')

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status})`)
}

function has(binary) {
  // Daemons such as mosquitto live in /usr/sbin, which is not on every user's PATH.
  const found = `command -v ${binary} || test -x /usr/sbin/${binary}`
  return spawnSync('sh', ['-c', found], { stdio: 'ignore' }).status === 0
}

// npm ci when node_modules is missing or older than the lock file (a pull changed dependencies).
const lock = join(root, 'package-lock.json')
const marker = join(root, 'node_modules', '.package-lock.json')
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('bootstrap: installing npm dependencies (npm ci)')
  run('npm', ['ci', '--no-audit', '--no-fund'])
}

const debianLike = existsSync('/etc/debian_version') && has('apt-get')
const root_ = typeof process.getuid === 'function' && process.getuid() === 0
let aptUpdated = false

/** Installs Debian packages when a program is missing, or stops with a message saying how. */
function ensure(binary, packages, why) {
  if (has(binary)) return
  install(binary, packages, why)
  if (!has(binary)) {
    console.error(`bootstrap: ${packages.join(' ')} installed but ${binary} is still not on PATH`)
    process.exit(1)
  }
}

/** The same for a package known by a file it installs (fonts, data). */
function ensureFile(path, packages, why) {
  if (!existsSync(path)) install(path, packages, why)
}

function install(what, packages, why) {
  if (!debianLike || !root_) {
    console.error(
      `bootstrap: ${what} is missing (${why}).\n` +
        `  On Debian/Ubuntu run as root: apt-get update && apt-get install -y ${packages.join(' ')}\n` +
        `  Elsewhere install it with your package manager, or point EVMON_INFLUX_URL (EVMON_REDIS_URL) at a\n` +
        `  running InfluxDB 1.x (Redis).`,
    )
    process.exit(1)
  }
  console.log(`bootstrap: installing ${packages.join(', ')} with apt-get (${why})`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (!aptUpdated) run('apt-get', ['update', '-qq'], { env })
  aptUpdated = true
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env })
}

if (!process.env.EVMON_INFLUX_URL || forTests) ensure('influxd', ['influxdb'], 'the time-series store')
if (!process.env.EVMON_REDIS_URL || forTests)
  ensure('redis-server', ['redis-server'], "the broker's sessions and queued messages survive its restarts")
if (forTests) {
  ensure('chromium', ['chromium'], 'browser tests drive Debian Chromium')
  ensureFile(
    '/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc',
    ['fonts-wqy-zenhei'],
    'screenshots of the zh-CN dashboard need a CJK font',
  )
  ensure('mosquitto_pub', ['mosquitto-clients'], 'broker tests use an MQTT client nobody here wrote')
  ensure('mosquitto', ['mosquitto'], 'ingest scale-out tests need an MQTT 5 broker with shared subscriptions')
}

const version = execFileSync('node', ['--version']).toString().trim()
const major = Number(version.slice(1).split('.')[0])
if (major < 20) {
  console.error(`bootstrap: Node ${version} is too old; evmon needs Node 20 or newer`)
  process.exit(1)
}
if (!existsSync(join(root, 'node_modules', '.bin', 'tsx'))) {
  console.error('bootstrap: node_modules/.bin/tsx missing after npm ci; remove node_modules and retry')
  process.exit(1)
}
