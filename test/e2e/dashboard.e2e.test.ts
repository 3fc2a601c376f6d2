import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { artifactsDir, launchChromium } from './browser.ts'
import { startTestStack, type TestStack } from './stack.ts'

let stack: TestStack
let browser: Browser

beforeAll(async () => {
  browser = await launchChromium()
  stack = await startTestStack()
})
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

test('the dashboard shows a card per station and a live site-load chart that updates', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(stack.dashboardUrl)

  const cards = page.getByTestId('station-card')
  await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(4)
  const supercharger = page.locator('[data-testid="station-card"][data-station="zn-super"]')
  await expect.poll(() => supercharger.innerText()).toMatch(/480\s*kW/)
  await expect.poll(() => supercharger.innerText()).toMatch(/liquid/i)
  expect(await page.getByTestId('connector').count()).toBe(11)

  const chart = page.getByTestId('site-load-chart').locator('canvas')
  expect(await chart.count()).toBe(1)
  const firstPicture = await chart.screenshot()
  const sitePower = page.getByTestId('site-power')
  const firstPower = await sitePower.innerText()
  // The chart redraws from the live stream: its pixels and the total change within a few seconds.
  await expect
    .poll(async () => !(await chart.screenshot()).equals(firstPicture), { timeout: 20_000, interval: 1000 })
    .toBe(true)
  await expect.poll(() => sitePower.innerText(), { timeout: 30_000, interval: 1000 }).not.toBe(firstPower)

  await page.screenshot({ path: join(artifactsDir, 'live-1280.png'), fullPage: true })
  expect(errors).toEqual([])
})

test('on a 390 px phone screen the dashboard needs no horizontal scrolling', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })
  await page.goto(stack.dashboardUrl)
  await expect.poll(() => page.getByTestId('station-card').count(), { timeout: 30_000 }).toBe(4)
  // A string expression: this file is type-checked for Node, without the DOM library.
  const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
  expect(overflow).toBeLessThanOrEqual(0)
  await page.screenshot({ path: join(artifactsDir, 'live-390.png'), fullPage: true })
})
