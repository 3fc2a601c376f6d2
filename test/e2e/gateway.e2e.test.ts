import type { Browser } from 'playwright-core'
import type { LiveView } from '@evmon/contracts'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from './browser.ts'
import { devTokens, presetSession, screenshot, type DevTokens } from './dashboard-helpers.ts'
import { startTestStack, type TestStack } from './stack.ts'

// `npm start` plays kc-fast-1 as an OCPP 1.6J charger and kc-fast-2 as an OCPP 2.0.1 charger through
// the gateway: both must be live in the API and on the dashboard like the stations on MQTT.

let stack: TestStack
let browser: Browser
let tokens: DevTokens

beforeAll(async () => {
  tokens = devTokens()
  browser = await launchChromium()
  stack = await startTestStack()
}, 180_000)
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

const auth = () => ({ authorization: `Bearer ${stack.devToken}` })
const gatewayHttp = () => stack.ocppUrl.replace(/^ws/, 'http').replace(/\/ocpp$/, '')

async function live(): Promise<LiveView> {
  const res = await fetch(new URL('/api/v1/live?site=beibei', stack.dashboardUrl), { headers: auth() })
  expect(res.status).toBe(200)
  return (await res.json()) as LiveView
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

test('kc-fast-1 (OCPP 1.6J) and kc-fast-2 (OCPP 2.0.1) are live in the API through the gateway', async () => {
  const view = await eventually('both OCPP chargers online with telemetry', 60_000, async () => {
    const v = await live()
    const ocpp = v.stations.filter(
      (s) => s.ocpp_identity !== null && s.online && !s.stale && s.last_ts !== null,
    )
    return ocpp.length === 2 ? v : undefined
  })
  const byId = new Map(view.stations.map((s) => [s.station, s]))
  expect(byId.get('kc-fast-1')?.ocpp_identity).toBe('KC-FAST-1')
  expect(byId.get('kc-fast-2')?.ocpp_identity).toBe('KC-FAST-2')
  for (const station of ['kc-fast-1', 'kc-fast-2']) {
    const s = byId.get(station)
    // The description comes from the gateway's sites file, statuses from StatusNotification.
    expect(s?.name).toMatch(/Fast Charging/)
    expect(s?.connectors.length).toBeGreaterThan(0)
    expect(s?.connectors.every((c) => c.status !== null)).toBe(true)
    // OCPP carries no coolant temperature: not reported, never 0.
    expect(s?.connectors.every((c) => c.coolant_c === null)).toBe(true)
  }
  // zn-super and kc-ac stay on MQTT.
  expect(byId.get('zn-super')?.ocpp_identity).toBeNull()
  expect(byId.get('kc-ac')?.ocpp_identity).toBeNull()
  const metrics = await (await fetch(`${gatewayHttp()}/metrics`)).text()
  expect(metrics).toMatch(/^evmon_gateway_chargers_connected 2$/m)
  expect(stack.crashes).toEqual([])
}, 90_000)

test('a car plugged into the OCPP 1.6J charger charges live: status, power and session through the gateway', async () => {
  const res = await fetch(`${stack.simulatorUrl}/stations/kc-fast-1/connectors/2/plug-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ vehicle: 'byd-han', socPct: 30, targetSocPct: 90 }),
  })
  expect([202, 409]).toContain(res.status)
  const charging = await eventually('a kc-fast-1 connector charging with power', 120_000, async () => {
    const s = (await live()).stations.find((x) => x.station === 'kc-fast-1')
    return s?.connectors.find((c) => c.status === 'Charging' && (c.power_w ?? 0) > 0 && c.session !== null)
  })
  expect(charging.energy_wh).toBeGreaterThan(0)
  expect(charging.soc_pct).toBeGreaterThan(0)
}, 150_000)

test('the dashboard shows both OCPP chargers live, under their own identities', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await presetSession(page, tokens.operator, 'operator')
  await page.goto(new URL('/live', stack.dashboardUrl).href)
  for (const [station, identity] of [
    ['kc-fast-1', 'KC-FAST-1'],
    ['kc-fast-2', 'KC-FAST-2'],
  ] as const) {
    const card = page.locator(`[data-testid="station-card"][data-station="${station}"]`)
    await expect.poll(() => card.count(), { timeout: 30_000 }).toBe(1)
    await expect.poll(() => card.getAttribute('data-health'), { timeout: 30_000 }).toBe('online')
    expect(await card.locator('code.id').innerText()).toBe(identity)
    await expect.poll(() => card.getByTestId('connector').count()).toBeGreaterThan(0)
  }
  await screenshot(page, 'live-ocpp-chargers')
  expect(errors).toEqual([])
}, 90_000)
