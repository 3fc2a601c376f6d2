import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { artifactsDir } from './browser.ts'

// Helpers the dashboard's end-to-end tests share. Page scripts are strings: these files are
// type-checked for Node, without the DOM library.

export interface DevTokens {
  operator: string
  engineer: string
}

/**
 * Fresh operator and engineer tokens for this test file. The API accepts `role:sha256` entries in
 * EVMON_API_TOKENS, and the stack hands its environment to every service, so setting it before the
 * stack starts is enough; any tokens the stack adds itself are kept alongside.
 */
export function devTokens(): DevTokens {
  const tokens = { operator: randomBytes(24).toString('hex'), engineer: randomBytes(24).toString('hex') }
  const hash = (t: string) => createHash('sha256').update(t).digest('hex')
  const entries = [`operator:${hash(tokens.operator)}`, `engineer:${hash(tokens.engineer)}`]
  const existing = process.env.EVMON_API_TOKENS
  process.env.EVMON_API_TOKENS = [existing, ...entries].filter(Boolean).join(',')
  return tokens
}

/** Makes every page of `page`'s context start signed in with `token`, as after the login form. */
export async function presetSession(page: Page, token: string, role: 'operator' | 'engineer'): Promise<void> {
  await page.addInitScript(
    `localStorage.setItem('evmon.token', ${JSON.stringify(token)});` +
      `localStorage.setItem('evmon.role', ${JSON.stringify(role)});` +
      `if (!localStorage.getItem('evmon.locale')) localStorage.setItem('evmon.locale', 'en');`,
  )
}

/** Pixels the page is wider than its viewport; 0 or less means no horizontal scrolling. */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')
}

/**
 * Every visible text node and accessible label on the page, trimmed, except inside elements that
 * declare another language with `lang` (the language switch names the other language in itself).
 */
export function visibleLabels(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const out = []
    const pageLang = document.documentElement.lang
    const foreign = (el) => { const l = el.closest('[lang]'); return l && l !== document.documentElement && l.lang !== pageLang }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement
      const text = node.textContent.trim()
      if (!el || !text || foreign(el)) continue
      if (el.closest('script,style,[hidden]')) continue
      const style = getComputedStyle(el)
      if (style.display === 'none' || style.visibility === 'hidden') continue
      out.push(text)
    }
    for (const el of document.querySelectorAll('[aria-label],[title],[placeholder]')) {
      if (foreign(el)) continue
      for (const a of ['aria-label', 'title', 'placeholder']) { const v = el.getAttribute(a); if (v) out.push(v.trim()) }
    }
    return out
  })()`)
}

export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true })
}
