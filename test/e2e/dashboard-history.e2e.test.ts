import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { launchChromium } from './browser.ts'
import {
  devTokens,
  horizontalOverflow,
  presetSession,
  screenshot,
  type DevTokens,
} from './dashboard-helpers.ts'
import { startTestStack, type TestStack } from './stack.ts'

// The engineers' and operators' views over stored data: analytics, sessions and replay with export.

let stack: TestStack
let browser: Browser
let tokens: DevTokens
/** When the simulator started publishing, as the replay form's site-time value (UTC+8). */
let dataStart: string

beforeAll(async () => {
  tokens = devTokens()
  browser = await launchChromium()
  stack = await startTestStack()
  dataStart = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 19)
  // Give ingest time to store a minute of telemetry for the history views.
  await new Promise((r) => setTimeout(r, 45_000))
})
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

const url = (path: string) => new URL(path, stack.dashboardUrl).href

async function engineerPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await presetSession(page, tokens.engineer, 'engineer')
  return { page, errors }
}

test('analytics shows utilisation by hour, daily trend, energy and the 480 kW comparison from the API', async () => {
  const { page, errors } = await engineerPage()
  await page.goto(url('/analytics'))
  const heatmap = page.getByTestId('heatmap')
  await expect.poll(() => heatmap.count(), { timeout: 30_000 }).toBe(1)
  // One heatmap row per station that reported, 24 hour columns each.
  await expect.poll(() => heatmap.locator('tbody tr').count(), { timeout: 30_000 }).toBeGreaterThan(0)
  expect(await heatmap.locator('tbody tr').first().locator('td').count()).toBe(24)
  // Site totals need two register readings in the range; until the API has them it answers "—".
  const energy = page.getByTestId('kpi-energy')
  await expect
    .poll(
      async () => {
        if (/\d.*kWh/.test(await energy.innerText())) return true
        await page.reload()
        await heatmap.waitFor()
        return /\d.*kWh/.test(await energy.innerText())
      },
      { timeout: 60_000, interval: 5_000 },
    )
    .toBe(true)
  expect(await page.getByTestId('speed-card').innerText()).toMatch(/3×/)
  expect(await page.getByTestId('station-table').locator('tbody tr').count()).toBeGreaterThan(0)
  expect(await page.getByTestId('trend-chart').locator('canvas').count()).toBe(1)
  await screenshot(page, 'analytics-1440')
  expect(errors).toEqual([])
})

test('sessions lists stored sessions and plots one on a single time axis', async () => {
  const { page, errors } = await engineerPage()
  await page.goto(url('/sessions'))
  const count = page.getByTestId('session-count')
  await expect.poll(() => count.innerText(), { timeout: 30_000 }).toMatch(/\d/)
  const rows = page.getByTestId('session-row')
  await expect.poll(() => rows.count(), { timeout: 60_000, interval: 5_000 }).toBeGreaterThan(0)
  await rows.first().locator('button').click()
  const detail = page.getByTestId('session-detail')
  await expect.poll(() => detail.isVisible(), { timeout: 15_000 }).toBe(true)
  expect(await detail.locator('canvas').count()).toBe(1)
  // Filtering by a station narrows the list to that station.
  await page.getByTestId('filter-station').selectOption('zn-super')
  await expect
    .poll(async () => (await rows.allInnerTexts()).every((r) => r.includes('Zhongnan')), { timeout: 15_000 })
    .toBe(true)
  await screenshot(page, 'sessions-1440')
  expect(errors).toEqual([])
})

/** Replays zn-super from the first stored message to now in real time; the position element. */
async function playFromDataStart(page: Page) {
  await page.goto(url('/replay'))
  // Real time from the first stored message: the range lasts long enough to pause while playing.
  await page.getByTestId('replay-from').fill(dataStart)
  await page.getByTestId('replay-speed').selectOption('1')
  await page.getByTestId('replay-play').click()
  return page.getByTestId('replay-position')
}

test('replay plays a stored range, moves the chart, pauses, and exports NDJSON and CSV', async () => {
  const { page, errors } = await engineerPage()
  const position = await playFromDataStart(page)
  await expect.poll(() => position.getAttribute('data-ts'), { timeout: 20_000 }).toMatch(/^\d+$/)
  const chart = page.getByTestId('site-load-chart').locator('canvas')
  const first = await chart.screenshot()
  const firstTs = Number(await position.getAttribute('data-ts'))
  await expect
    .poll(async () => !(await chart.screenshot()).equals(first), { timeout: 20_000, interval: 1000 })
    .toBe(true)
  await expect
    .poll(async () => Number(await position.getAttribute('data-ts')), { timeout: 20_000 })
    .toBeGreaterThan(firstTs)
  await screenshot(page, 'replay-1440')

  await page.getByTestId('replay-pause').click()
  expect(await page.getByTestId('replay-phase').getAttribute('data-phase')).toBe('paused')

  const download = page.waitForEvent('download')
  await page.getByTestId('export-csv').click()
  const csv = await download
  expect(csv.suggestedFilename()).toMatch(/^zn-super-.*\.csv$/)
  const ndjson = page.waitForEvent('download')
  await page.getByTestId('export-ndjson').click()
  const file = await (await ndjson).path()
  const { readFileSync } = await import('node:fs')
  const first_line = readFileSync(file, 'utf8').split('\n')[0] ?? ''
  expect(JSON.parse(first_line)).toMatchObject({
    topic: expect.stringMatching(/^evmon\/v1\/beibei\/zn-super\//),
  })
  expect(errors).toEqual([])
})

test('replay speed and seek: the position runs at the chosen speed and jumps to the sought time', async () => {
  const { page, errors } = await engineerPage()
  const position = await playFromDataStart(page)
  const phase = page.getByTestId('replay-phase')
  const ts = async () => Number(await position.getAttribute('data-ts'))
  await expect.poll(() => phase.getAttribute('data-phase'), { timeout: 20_000 }).toBe('playing')
  await expect.poll(ts, { timeout: 20_000 }).toBeGreaterThan(0)

  // Replayed milliseconds per wall millisecond, measured over `seconds` of playing.
  const rate = async (seconds: number) => {
    const [t0, w0] = [await ts(), Date.now()]
    await page.waitForTimeout(seconds * 1000)
    return ((await ts()) - t0) / (Date.now() - w0)
  }
  const atOne = await rate(4)
  expect(atOne).toBeGreaterThan(0.3)
  expect(atOne).toBeLessThan(3)
  await page.getByTestId('replay-speed').selectOption('10')
  const atTen = await rate(2)
  expect(atTen).toBeGreaterThan(4)
  expect(atTen).toBeGreaterThan(3 * atOne)

  // Back to 10 s into the range, behind where playing has got to: the position lands there (the
  // server confirms it) and the chart restarts from it instead of joining two distant moments.
  await page.getByTestId('replay-speed').selectOption('1')
  const seek = page.getByTestId('replay-seek')
  const from = Number(await seek.getAttribute('min'))
  const target = from + 10_000
  expect(await ts()).toBeGreaterThan(target + 10_000)
  await page.evaluate(
    `(() => {
      const el = document.querySelector('[data-testid="replay-seek"]')
      el.value = '${target}'
      el.dispatchEvent(new Event('change', { bubbles: true }))
    })()`,
  )
  await expect.poll(ts, { timeout: 10_000 }).toBeLessThan(target + 8_000)
  expect(await ts()).toBeGreaterThanOrEqual(target)
  const chart = page.getByTestId('site-load-chart')
  await expect
    .poll(async () => Number(await chart.getAttribute('data-from')), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(target - 1_000)
  expect(Number(await chart.getAttribute('data-from'))).toBeLessThan(target + 8_000)
  await screenshot(page, 'replay-seek-1440')
  expect(errors).toEqual([])
})

test('the live chart opens with the stored last hour before the first live frame, then continues live', async () => {
  const { page, errors } = await engineerPage()
  // Hold the live stream back: whatever the chart shows can only come from the stored history.
  await page.routeWebSocket(/\/api\/v1\/live\/ws/, () => {})
  const opened = Date.now()
  await page.goto(url('/live'))
  const chart = page.getByTestId('site-load-chart')
  const points = async () => Number(await chart.getAttribute('data-points'))
  await expect.poll(points, { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
  expect(await page.getByTestId('connection').getAttribute('data-state')).toBe('connecting')
  const storedFrom = Number(await chart.getAttribute('data-from'))
  expect(opened - storedFrom).toBeGreaterThan(30_000)
  expect(Number(await chart.getAttribute('data-to'))).toBeLessThanOrEqual(opened + 1_000)
  await screenshot(page, 'live-backfill-1440')

  // With the stream: the stored start stays, and live points follow it, one a second.
  const live = await engineerPage()
  await live.page.goto(url('/live'))
  const liveChart = live.page.getByTestId('site-load-chart')
  await expect
    .poll(() => live.page.getByTestId('connection').getAttribute('data-state'), { timeout: 20_000 })
    .toBe('live')
  const livePoints = async () => Number(await liveChart.getAttribute('data-points'))
  await expect.poll(livePoints, { timeout: 15_000 }).toBeGreaterThanOrEqual(3)
  const before = await livePoints()
  const to = Number(await liveChart.getAttribute('data-to'))
  await live.page.waitForTimeout(4_000)
  expect(await livePoints()).toBeGreaterThan(before)
  expect(Number(await liveChart.getAttribute('data-to'))).toBeGreaterThan(to)
  expect(Date.now() - Number(await liveChart.getAttribute('data-from'))).toBeGreaterThan(30_000)
  expect([...errors, ...live.errors]).toEqual([])
})

test('engineer views stay usable at 390 px', async () => {
  const { page } = await engineerPage()
  await page.setViewportSize({ width: 390, height: 844 })
  for (const path of ['/analytics', '/sessions', '/replay']) {
    await page.goto(url(path))
    await page.waitForTimeout(1500)
    expect(await horizontalOverflow(page), path).toBeLessThanOrEqual(0)
  }
  await screenshot(page, 'replay-390')
})
