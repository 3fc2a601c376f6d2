import { afterAll, beforeAll, expect, inject, test } from 'vitest'
import type { LiveSnapshot } from '@evmon/contracts'
import { startTestStack, type TestStack } from './stack.ts'

let stack: TestStack

beforeAll(async () => {
  stack = await startTestStack()
})
afterAll(async () => {
  await stack?.stop()
})

const auth = () => ({ authorization: `Bearer ${stack.devToken}` })

async function live(): Promise<LiveSnapshot> {
  const res = await fetch(new URL('/api/v1/live', stack.dashboardUrl), { headers: auth() })
  expect(res.status).toBe(200)
  return (await res.json()) as LiveSnapshot
}

async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error(`${what} not seen within ${timeoutMs} ms\n${stack.logs.slice(-40).join('\n')}`)
}

test('within 30 s the live view shows the four Beibei stations, one with a 480 kW liquid-cooled gun', async () => {
  const snapshot = await eventually('4 online stations with telemetry', 30_000, async () => {
    const s = await live()
    return s.stations.filter((st) => st.online && st.last_ts !== null).length === 4 ? s : undefined
  })
  expect(snapshot.stations.map((s) => s.station).sort()).toEqual([
    'kc-ac',
    'kc-fast-1',
    'kc-fast-2',
    'zn-super',
  ])
  const supercharger = snapshot.stations.find((s) => s.station === 'zn-super')
  expect(supercharger?.cooling).toBe('liquid')
  expect(supercharger?.connectors.some((c) => c.liquid_cooled && c.max_power_w === 480_000)).toBe(true)
  expect(stack.crashes).toEqual([])
})

test('power values change over time', async () => {
  const powers = async () =>
    (await live()).stations.flatMap((s) => [s.grid_power_w, ...s.connectors.map((c) => c.power_w)])
  const first = await powers()
  const changed = await eventually('a changed power value', 20_000, async () => {
    const next = await powers()
    return next.some((p, i) => p !== first[i]) ? next : undefined
  })
  expect(changed).not.toEqual(first)
})

test('operator routes refuse requests without the token; the driver view is public', async () => {
  expect((await fetch(new URL('/api/v1/live', stack.dashboardUrl))).status).toBe(401)
  const res = await fetch(new URL('/api/v1/availability?site=beibei', stack.dashboardUrl))
  expect(res.status).toBe(200)
})

test('telemetry reaches InfluxDB and comes back through the history route', async () => {
  const body = await eventually('stored history for zn-super', 30_000, async () => {
    const res = await fetch(new URL('/api/v1/stations/zn-super/history?every=10s', stack.dashboardUrl), {
      headers: auth(),
    })
    if (res.status !== 200) return undefined
    const json = (await res.json()) as {
      series: { station: unknown[]; connectors: Record<string, unknown[]> }
    }
    return json.series.station.length > 0 && Object.keys(json.series.connectors).length === 3
      ? json
      : undefined
  })
  expect(Object.keys(body.series.connectors).sort()).toEqual(['1', '2', '3'])
  // The same data is in InfluxDB itself, written by ingest.
  const q = encodeURIComponent("SELECT count(power_w) FROM connector WHERE station = 'zn-super'")
  const res = await fetch(`${inject('influxUrl')}/query?db=${stack.influxDb}&q=${q}`)
  const json = (await res.json()) as { results: { series?: { values: [string, number][] }[] }[] }
  expect(json.results[0]?.series?.[0]?.values[0]?.[1]).toBeGreaterThan(0)
})
