// Dashboard performance budget, in a real browser against the whole stack (as `npm start` runs it):
// time to the first render of Live with data, and the page's JS heap over a stretch of live updates
// (after forced garbage collection at each sample, so only retained memory counts), with the share of
// the page's main thread spent in tasks and the number of points on the chart.
// `--heap-diff 5,60` also takes heap snapshots at those minutes and prints what grew between them,
// by object kind and constructor, to find what a growing heap holds.
// `npm run bench -- dashboard [--minutes 10] [--heap-diff M1,M2]`; needs `npm run build` first. Loopback only.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { CDPSession } from 'playwright-core'
import { startStack } from '../scripts/stack.ts'
import { launchChromium } from '../test/e2e/browser.ts'

const SAMPLE_EVERY_MS = 30_000 // heap samples during the soak

export default async function main(args: string[]): Promise<void> {
  const minutesArg = args.indexOf('--minutes')
  const minutes = minutesArg >= 0 ? Number(args[minutesArg + 1]) : 10
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes takes a number above 0')
  const diffArg = args.indexOf('--heap-diff')
  const diffAt = diffArg >= 0 ? (args[diffArg + 1] ?? '').split(',').map(Number) : []
  if (diffAt.length !== 0 && (diffAt.length !== 2 || !diffAt.every((m) => m >= 0 && m <= minutes)))
    throw new Error('--heap-diff takes two minutes within the run, such as 5,60')
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
    await cdp.send('Performance.enable')
    // Two collections: one can leave garbage that only the second finds (weak references, finalisers).
    const heapMb = async () => {
      await cdp.send('HeapProfiler.collectGarbage')
      await cdp.send('HeapProfiler.collectGarbage')
      const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number }
      return usedSize / 1024 / 1024
    }
    // Main-thread time spent in tasks (script, style, layout, paint), cumulative seconds.
    const taskSeconds = async () => {
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: { name: string; value: number }[]
      }
      return metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0
    }
    const chartPoints = () =>
      page
        .getByTestId('site-load-chart')
        .getAttribute('data-points')
        .then((v) => Number(v))
    const samples: { min: number; mb: number; busyPct: number; points: number }[] = []
    const start = Date.now()
    let lastTask = await taskSeconds()
    let lastAt = start
    samples.push({ min: 0, mb: await heapMb(), busyPct: 0, points: await chartPoints() })
    const end = start + minutes * 60_000
    const snapshots: HeapSummary[] = []
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.min(SAMPLE_EVERY_MS, end - Date.now())))
      const due = diffAt[snapshots.length]
      if (due !== undefined && Date.now() - start >= due * 60_000) snapshots.push(await heapSummary(cdp))
      const task = await taskSeconds()
      const now = Date.now()
      const busyPct = ((task - lastTask) / ((now - lastAt) / 1000)) * 100
      ;[lastTask, lastAt] = [task, now]
      const sample = { min: (now - start) / 60_000, mb: await heapMb(), busyPct, points: await chartPoints() }
      samples.push(sample)
      console.log(
        `  ${sample.min.toFixed(1)} min: ${sample.mb.toFixed(2)} MB, main thread busy ${busyPct.toFixed(1)} %, ` +
          `${sample.points} chart points`,
      )
    }
    const at = (min: number) =>
      samples.reduce((best, s) => (Math.abs(s.min - min) < Math.abs(best.min - min) ? s : best))
    const marks = [0, 5, 15, 30, 45, 60, 75, 90].filter((m) => m <= minutes)
    console.log(
      `JS heap over ${minutes} min of live updates (after GC): ` +
        marks.map((m) => `${m} min ${at(m).mb.toFixed(1)} MB`).join(', ') +
        `; end ${(samples.at(-1)?.mb ?? 0).toFixed(1)} MB, max ${Math.max(...samples.map((s) => s.mb)).toFixed(1)} MB; ` +
        `main thread busy: median ${median(samples.slice(1).map((s) => s.busyPct)).toFixed(1)} %`,
    )
    const [early, late] = snapshots
    if (early && late) {
      console.log(`heap snapshot diff, minute ${diffAt[0]} to ${diffAt[1]} (largest growth first):`)
      for (const row of diffSummaries(early, late).slice(0, 25)) {
        console.log(
          `  ${row.bytes.toString().padStart(9)} B ${row.count.toString().padStart(7)} × ${row.key}`,
        )
      }
    }
  } finally {
    await browser.close()
    await stack.stop()
    rmSync(varDir, { recursive: true, force: true })
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? 0
}

/** Self size and count of the heap's objects by kind and constructor/name, after a full collection. */
type HeapSummary = Map<string, { count: number; bytes: number }>

async function heapSummary(cdp: CDPSession): Promise<HeapSummary> {
  const chunks: string[] = []
  const onChunk = ({ chunk }: { chunk: string }) => chunks.push(chunk)
  cdp.on('HeapProfiler.addHeapSnapshotChunk', onChunk)
  try {
    await cdp.send('HeapProfiler.collectGarbage')
    await cdp.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  } finally {
    cdp.off('HeapProfiler.addHeapSnapshotChunk', onChunk)
  }
  const snapshot = JSON.parse(chunks.join('')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
    nodes: number[]
    strings: string[]
  }
  const fields = snapshot.snapshot.meta.node_fields
  const [type, name, size] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ]
  const types = snapshot.snapshot.meta.node_types[0]
  const summary: HeapSummary = new Map()
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const key = `${types[snapshot.nodes[i + type]!]}:${(snapshot.strings[snapshot.nodes[i + name]!] ?? '').slice(0, 60)}`
    const entry = summary.get(key) ?? { count: 0, bytes: 0 }
    entry.count++
    entry.bytes += snapshot.nodes[i + size]!
    summary.set(key, entry)
  }
  return summary
}

function diffSummaries(a: HeapSummary, b: HeapSummary): { key: string; count: number; bytes: number }[] {
  return [...new Set([...a.keys(), ...b.keys()])]
    .map((key) => ({
      key,
      count: (b.get(key)?.count ?? 0) - (a.get(key)?.count ?? 0),
      bytes: (b.get(key)?.bytes ?? 0) - (a.get(key)?.bytes ?? 0),
    }))
    .sort((x, y) => y.bytes - x.bytes)
}
