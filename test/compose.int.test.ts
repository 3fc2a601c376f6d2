import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { parse } from 'yaml'
import { repoRoot } from '../scripts/stack.ts'

// No Docker engine runs here, so the compose file is checked by reading it: what would break at
// `docker compose up` (a missing entrypoint, an undocumented variable, a wrong InfluxDB) fails here.
interface ComposeService {
  command?: string[]
  image?: string
  environment?: Record<string, string>
  depends_on?: Record<string, { condition: string }>
}
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>
}
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')

test('compose runs InfluxDB 1.x and the five evmon services', () => {
  expect(Object.keys(compose.services).sort()).toEqual([
    'api',
    'broker',
    'dashboard',
    'influxdb',
    'ingest',
    'simulator',
  ])
  expect(compose.services.influxdb?.image).toMatch(/^influxdb:1\./)
})

test('every service entrypoint named in compose exists in the repository', () => {
  for (const [name, service] of Object.entries(compose.services)) {
    const entry = service.command?.find((part) => part.endsWith('.ts'))
    if (name === 'influxdb' || name === 'dashboard') continue
    expect(entry, name).toBeDefined()
    expect(existsSync(join(repoRoot, entry as string)), `${name}: ${entry}`).toBe(true)
  }
})

test('every EVMON_* variable compose sets is documented in the README', () => {
  const used = new Set(Object.values(compose.services).flatMap((s) => Object.keys(s.environment ?? {})))
  for (const name of [...used].filter((n) => n.startsWith('EVMON_'))) {
    expect(readme, name).toContain(`\`${name}\``)
  }
})

test('services that need the broker or InfluxDB wait for them to be healthy', () => {
  for (const name of ['ingest', 'api']) {
    expect(compose.services[name]?.depends_on?.broker?.condition).toBe('service_healthy')
    expect(compose.services[name]?.depends_on?.influxdb?.condition).toBe('service_healthy')
  }
})
