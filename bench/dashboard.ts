// Dashboard performance budget, in a real browser against the whole stack (as `npm start` runs it):
// time to the first render of Live with data, and the page's JS heap over a stretch of live updates
// (after forced garbage collection at each sample, so only retained memory counts).
// `npm run bench -- dashboard [--minutes 10]`; needs `npm run build` first. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startStack } from '../scripts/stack.ts'
import { launchChromium } from '../test/e2e/browser.ts'

const SAMPLE_EVERY_MS = 30_000 // heap samples during the soak

export default async function main(args: string[]): Promise<void> {
  const minutesArg = args.indexOf('--minutes')
  const minutes = minutesArg >= 0 ? Number(args[minutesArg + 1]) : 10
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes takes a number above 0')
  const varDir = mkdtempSync(join(tmpdir(), 'evmon-bench-dashboard-'))
  const stack = await startStack({
    varDir,
    influxPort: 0,
    httpHost: '127.0.0.1',
    httpPort: 0,
    mqttPort: 0,
    mqttWsPort: 0,
    metricsPorts: { broker: 0, ingest: 0, simulator: 0 },
    simSeed: 1,
    simSpeed: 1,
    log: () => {},
    onExit: (service, code) => console.error(`${service} exited (${code})`),
  })
  const browser = await launchChromium()
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    await context.addInitScript(
      `localStorage.setItem('evmon.token', ${JSON.stringify(stack.devToken)});` +
        `localStorage.setItem('evmon.role', 'engineer');`,
    )
    const page = await context.newPage()
    // Let the stations connect first, so "first render" means a page with data, as an operator sees it.
    await new Promise((r) => setTimeout(r, 5_000))
    const renders: number[] = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      await page.goto(new URL('/live', stack.dashboardUrl).toString())
      await page.locator('[data-testid="station-card"]').nth(3).waitFor()
      await page.locator('[data-testid="site-load-chart"] canvas').waitFor()
      renders.push(performance.now() - t0)
    }
    renders.sort((a, b) => a - b)
    console.log(
      `first render of Live with 4 station cards and the chart: median ${Math.round(renders[2] as number)} ms ` +
        `(5 loads: ${renders.map((r) => Math.round(r)).join(', ')} ms; goal < 1,000 ms)`,
    )

    const cdp = await context.newCDPSession(page)
    const heapMb = async () => {
      await cdp.send('HeapProfiler.collectGarbage')
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }
      return usedSize / 1024 / 1024
    }
    const samples: number[] = [await heapMb()]
    const end = Date.now() + minutes * 60_000
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_MS, end - Date.now())))
      samples.push(await heapMb())
      const elapsedMin = (minutes * 60_000 - (end - Date.now())) / 60_000
      console.log(`  ${elapsedMin.toFixed(1)} min: ${(samples.at(-1) ?? 0).toFixed(1)} MB`)
    }
    const first = samples[1] ?? samples[0] ?? 0 // after the first minute's history has filled in
    const last = samples.at(-1) ?? 0
    console.log(
      `JS heap over ${minutes} min of live updates (after GC): start ${(samples[0] ?? 0).toFixed(1)} MB, ` +
        `after 30 s ${first.toFixed(1)} MB, end ${last.toFixed(1)} MB, max ${Math.max(...samples).toFixed(1)} MB`,
    )
  } finally {
    await browser.close()
    await stack.stop()
    rmSync(varDir, { recursive: true, force: true })
  }
}
