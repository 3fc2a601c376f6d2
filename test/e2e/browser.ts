import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const artifactsDir = join(import.meta.dirname, 'artifacts')

/**
 * Debian's Chromium, headless, with the flags this closed network needs (docs/design.md pitfalls);
 * Playwright gives each launch a fresh temporary profile.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} not found. Install Debian's Chromium as root: apt-get update && apt-get install -y chromium ` +
        '(npm test does this through scripts/bootstrap.mjs --test).',
    )
  }
  mkdirSync(artifactsDir, { recursive: true })
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  })
}
