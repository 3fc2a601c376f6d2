import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { MESSAGES } from '../../dashboard/src/i18n/messages.ts'
import { launchChromium } from './browser.ts'
import {
  devTokens,
  horizontalOverflow,
  presetSession,
  screenshot,
  visibleLabels,
  type DevTokens,
} from './dashboard-helpers.ts'
import { startTestStack, type TestStack } from './stack.ts'

let stack: TestStack
let browser: Browser
let tokens: DevTokens

beforeAll(async () => {
  tokens = devTokens()
  browser = await launchChromium()
  stack = await startTestStack()
})
afterAll(async () => {
  await browser?.close()
  await stack?.stop()
})

const url = (path: string) => new URL(path, stack.dashboardUrl).href

async function operatorPage(
  viewport = { width: 1280, height: 900 },
): Promise<{ page: Page; errors: string[] }> {
  // The operations room's wall screen runs dark; the theme test switches to light.
  const page = await browser.newPage({ viewport, colorScheme: 'dark' })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await presetSession(page, tokens.operator, 'operator')
  return { page, errors }
}

test('the live view shows a card per station and a site-load chart that updates', async () => {
  const { page, errors } = await operatorPage()
  await page.goto(url('/live'))

  const cards = page.getByTestId('station-card')
  await expect.poll(() => cards.count(), { timeout: 30_000 }).toBe(4)
  const supercharger = page.locator('[data-testid="station-card"][data-station="zn-super"]')
  await expect.poll(() => supercharger.innerText()).toMatch(/480\s*kW/)
  await expect.poll(() => supercharger.innerText()).toMatch(/liquid/i)
  // kc-fast-1 and kc-fast-2 are OCPP chargers: their connectors come with their boot through the gateway.
  await expect.poll(() => page.getByTestId('connector').count(), { timeout: 30_000 }).toBe(11)

  // The liquid-cooled gun shows its contact temperature against the 80 °C derating threshold.
  const thermal = supercharger.getByTestId('gun-thermal')
  expect(await thermal.count()).toBe(1)
  await expect
    .poll(() => thermal.getByTestId('gun-temp').innerText(), { timeout: 20_000 })
    .toMatch(/\d+\.\d °C/)
  expect(await thermal.innerText()).toMatch(/derates from 80\.0 °C/)

  // Open alerts come from the API: a list or the explicit "no open alerts".
  await expect
    .poll(() => page.getByTestId('alerts').innerText(), { timeout: 15_000 })
    .toMatch(/No open alerts|Critical|Warning|Info/)
  await expect
    .poll(() => page.getByTestId('grid-limit').innerText(), { timeout: 15_000 })
    .toMatch(/kW grid limit/)

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

  await screenshot(page, 'live-1280')
  await page.getByTestId('theme-toggle').click()
  await expect.poll(() => page.evaluate<string>('document.documentElement.dataset.theme')).toBe('light')
  await screenshot(page, 'live-1280-light')
  expect(errors).toEqual([])
})

test('on a 390 px phone screen the live view needs no horizontal scrolling', async () => {
  const { page } = await operatorPage({ width: 390, height: 844 })
  await page.goto(url('/live'))
  await expect.poll(() => page.getByTestId('station-card').count(), { timeout: 30_000 }).toBe(4)
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0)
  await screenshot(page, 'live-390')
})

test('the driver view works at 390×844 without login: free connectors, speeds and the price now', async () => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 })
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(stack.dashboardUrl)
  // The root sends a signed-out visitor to the public page, in Chinese by default.
  await expect.poll(() => new URL(page.url()).pathname).toBe('/availability')
  const items = page.getByTestId('availability-connector')
  await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(11)
  await expect.poll(() => page.getByTestId('free-count').getAttribute('data-free')).toMatch(/^\d+$/)
  expect(await page.getByTestId('price').innerText()).toMatch(/¥\d+\.\d{2}\/kWh/)
  expect(await page.getByTestId('price').innerText()).toContain('当前电价')
  // The supercharging gun promises its 480 kW; a free or busy connector is said in words, not colour alone.
  const superGun = page.locator('[data-testid="availability-connector"][data-station="zn-super"]').first()
  expect(await superGun.innerText()).toMatch(/最高 \d+ kW/)
  const states = await page.evaluate<string[]>(
    `[...document.querySelectorAll('[data-testid="availability-connector"]')].map((e) => e.dataset.state)`,
  )
  expect(states.every((s) => ['free', 'busy', 'down'].includes(s))).toBe(true)
  expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0)
  await screenshot(page, 'availability-390')
  expect(errors).toEqual([])
})

test('login gates the operator and engineer views', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  await page.goto(url('/live'))
  await expect.poll(() => page.url()).toMatch(/\/login\?next=(%2F|\/)live/)
  expect(await page.getByTestId('station-card').count()).toBe(0)

  await page.getByTestId('token-input').fill('not-a-token')
  await page.getByTestId('login-submit').click()
  await expect.poll(() => page.getByTestId('login-error').isVisible(), { timeout: 10_000 }).toBe(true)
  expect(page.url()).toMatch(/\/login/)
  await screenshot(page, 'login-refused')

  await page.getByTestId('token-input').fill(tokens.operator)
  await page.getByTestId('login-submit').click()
  await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).toBe('/live')
  await expect.poll(() => page.getByTestId('station-card').count(), { timeout: 30_000 }).toBe(4)

  // An operator's token does not open the engineers' replay.
  await page.goto(url('/replay'))
  await expect.poll(() => page.url()).toMatch(/\/login\?next=(%2F|\/)replay&denied=1/)
  expect(await page.getByTestId('login-error').isVisible()).toBe(true)

  await page.goto(url('/live'))
  await page.getByTestId('logout').click()
  await page.goto(url('/analytics'))
  await expect.poll(() => page.url()).toMatch(/\/login\?next=(%2F|\/)analytics/)

  // The API's who-am-I route names an engineer's token as such: the engineers' replay opens.
  await page.goto(url('/login?next=/replay'))
  await page.getByTestId('token-input').fill(tokens.engineer)
  await page.getByTestId('login-submit').click()
  // The path, not the URL's end: the login page's own URL (`/login?next=/replay`) ends the same way.
  await expect.poll(() => new URL(page.url()).pathname, { timeout: 10_000 }).toBe('/replay')
  expect(await page.evaluate<string | null>(`localStorage.getItem('evmon.role')`)).toBe('engineer')
})

test('the language toggle switches every visible label between Chinese and English', async () => {
  const { page } = await operatorPage()
  await page.goto(url('/live'))
  await expect.poll(() => page.getByTestId('station-card').count(), { timeout: 30_000 }).toBe(4)
  await expect.poll(() => page.getByTestId('alerts').innerText(), { timeout: 15_000 }).not.toMatch(/Loading/)

  // English: no Chinese character anywhere outside the switch, which names Chinese in Chinese.
  const english = await visibleLabels(page)
  expect(english.filter((text) => /[\u3400-\u9fff]/.test(text))).toEqual([])
  expect(english).toContain('Open alerts')
  await screenshot(page, 'live-en')

  await page.getByTestId('language-toggle').click()
  await expect.poll(() => page.evaluate<string>('document.documentElement.lang')).toBe('zh-CN')
  // Chinese: no English label of the catalogue is left on screen. Station names and ids are data.
  const englishOnly = new Set(
    Object.entries(MESSAGES.en)
      .filter(
        ([key, text]) => !text.includes('{') && MESSAGES['zh-CN'][key as keyof typeof MESSAGES.en] !== text,
      )
      .map(([, text]) => text),
  )
  const chinese = await visibleLabels(page)
  expect(chinese.filter((text) => englishOnly.has(text))).toEqual([])
  expect(chinese).toContain(MESSAGES['zh-CN']['alerts.title'])
  expect(chinese).toContain(MESSAGES['zh-CN']['nav.live'])
  const statuses = await page.getByTestId('connector').allInnerTexts()
  expect(statuses.join('\n')).toMatch(/空闲|充电中|准备中|结束中|暂停|故障|不可用|离线/)
  await screenshot(page, 'live-zh')
})

test('an operator acknowledges an alert on the live view', async () => {
  // A fault injected through the simulator's control API becomes a critical alert in the API.
  const fault = await fetch(`${stack.simulatorUrl}/stations/zn-super/connectors/2/fault`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ errorCode: 'GroundFailure' }),
  })
  expect(fault.status).toBe(202)
  try {
    const { page, errors } = await operatorPage()
    await page.goto(url('/live'))
    const item = page.getByTestId('alert').filter({ hasText: 'connector 2 faulted: GroundFailure' })
    await expect.poll(() => item.count(), { timeout: 30_000 }).toBe(1)
    expect(await item.getAttribute('data-severity')).toBe('critical')
    expect(await item.getByTestId('alert-acked').count()).toBe(0)
    await item.getByTestId('alert-ack').click()
    await expect.poll(() => item.getByTestId('alert-acked').count(), { timeout: 10_000 }).toBe(1)
    expect(await item.getByTestId('alert-acked').innerText()).toMatch(
      /^Acknowledged by operator at \d{2}:\d{2}/,
    )
    expect(await item.getByTestId('alert-ack').count()).toBe(0)
    await screenshot(page, 'live-alert-acked')

    // The API holds the acknowledgement, not just the page.
    const answer = await fetch(url('/api/v1/alerts?active=true'), {
      headers: { authorization: `Bearer ${tokens.operator}` },
    })
    const { alerts } = (await answer.json()) as {
      alerts: { message: string; acknowledged_by: string | null }[]
    }
    expect(alerts.find((a) => a.message === 'connector 2 faulted: GroundFailure')?.acknowledged_by).toBe(
      'operator',
    )
    expect(errors).toEqual([])
  } finally {
    await fetch(`${stack.simulatorUrl}/stations/zn-super/connectors/2/fault`, { method: 'DELETE' })
  }
})
