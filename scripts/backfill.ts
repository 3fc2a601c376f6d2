import { spawn } from 'node:child_process'
import { continuousQuery, ROLLUP_FIELDS } from '@evmon/contracts'
import { PROGRESS_LINE } from '@evmon/simulator'

/** A first start's history: what to simulate and where it goes. */
export interface BackfillOptions {
  repoRoot: string
  /** The simulator's environment: broker URL and account, seed, control port, state file. */
  env: Record<string, string>
  /** Simulated history, ending now, in whole seconds. */
  durationS: number
  /** Sample period of the history, s: coarser than live, so a week is stored in about a minute. */
  intervalS: number
  /** InfluxDB the ingest writes to, for the rollups of the backfilled range. */
  influx: { url: string; database: string; username?: string; password?: string }
  /** The ingest's `/metrics`, to know when everything published has been stored. */
  ingestMetricsUrl: string
  log: (line: string) => void
  /** The simulator's progress line (bar, simulated time reached, rate, ETA), redrawn in place. */
  progress: (line: string) => void
}

const DAY_MS = 86_400_000
const MINUTE_MS = 60_000

// The simulator's --backfill run, to completion: its progress lines go to `progress`, the rest to `log`.
function runSimulator(options: BackfillOptions): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'simulator/src/main.ts',
      '--backfill',
      `${options.durationS}s`,
      '--interval',
      `${options.intervalS}s`,
    ],
    { cwd: options.repoRoot, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  for (const stream of [child.stdout, child.stderr]) {
    let rest = ''
    // The progress bar is redrawn with a carriage return, so lines end at either \r or \n.
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (rest + chunk).split(/[\r\n]/)
      rest = parts.pop() ?? ''
      for (const line of parts.filter((l) => l.trim() !== '')) {
        if (PROGRESS_LINE.test(line)) options.progress(line)
        else options.log(`[backfill] ${line}`)
      }
    })
  }
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`the simulator's backfill exited with ${signal ?? code}`)),
    )
  })
}

function gauge(metrics: string, name: string): number {
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)
  return match ? Number(match[1]) : Number.NaN
}

// The broker has acknowledged every publish; ingest still has to receive, batch and write them. Done
// when nothing is pending, spooled or unacknowledged and nothing new arrived for a second.
async function ingestSettled(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastReceived = Number.NaN
  let quietSince = Date.now()
  while (Date.now() < deadline) {
    const text = await fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.text())
      .catch(() => '')
    const received = gauge(text, 'evmon_ingest_messages_received_total')
    const busy =
      gauge(text, 'evmon_ingest_pending_points') +
      gauge(text, 'evmon_ingest_unacked_messages') +
      gauge(text, 'evmon_ingest_spool_records')
    if (received !== lastReceived || !(busy === 0)) {
      lastReceived = received
      quietSince = Date.now()
    } else if (Date.now() - quietSince >= 1000) return
    await new Promise((r) => setTimeout(r, 250))
  }
  throw new Error(`ingest had not stored the backfill after ${timeoutMs / 1000} s`)
}

/**
 * The 1-minute rollups of the backfilled range. A continuous query only rolls up the minute that just
 * ended, so history written after the fact gets none; this runs the same SELECT … INTO as each
 * continuous query over the range, a day at a time.
 */
async function rollUp(options: BackfillOptions, fromMs: number, toMs: number): Promise<void> {
  const { url, database, username, password } = options.influx
  for (const kind of Object.keys(ROLLUP_FIELDS) as (keyof typeof ROLLUP_FIELDS)[]) {
    const match = /BEGIN (SELECT .+) (GROUP BY .+) END$/.exec(continuousQuery(database, kind).query)
    if (!match) throw new Error(`unexpected continuous query for ${kind}`)
    for (let from = fromMs; from < toMs; from += DAY_MS) {
      const to = Math.min(toMs, from + DAY_MS)
      const body = new URLSearchParams({
        db: database,
        q: `${match[1]} WHERE time >= ${from}ms AND time < ${to}ms ${match[2]}`,
      })
      if (username) body.set('u', username)
      if (password) body.set('p', password)
      const res = await fetch(`${url}/query`, { method: 'POST', body })
      const text = await res.text()
      if (!res.ok || text.includes('"error"')) throw new Error(`rollup of ${kind}: ${text.slice(0, 300)}`)
    }
  }
}

/** Wall-clock seconds each step of a first start's backfill took. */
export interface BackfillTimings {
  /** Simulated and published, every publish acknowledged by the broker. */
  publishedS: number
  /** Until ingest had stored the last of it. */
  storedS: number
  rollupsS: number
  totalS: number
}

/**
 * A first start's week of history: simulates the last `durationS` up to now through the running
 * broker and ingest (the simulator's own backfill mode, which leaves its registers in the state file
 * for the live run to continue), waits until ingest has stored it all, then builds its rollups.
 */
export async function backfillHistory(options: BackfillOptions): Promise<BackfillTimings> {
  const started = Date.now()
  const since = (from: number) => (Date.now() - from) / 1000
  const fromMs = Math.floor((started - options.durationS * 1000) / MINUTE_MS) * MINUTE_MS
  await runSimulator(options)
  const publishedS = since(started)
  const published = Date.now()
  await ingestSettled(options.ingestMetricsUrl, 10 * MINUTE_MS)
  const storedS = since(published)
  const stored = Date.now()
  await rollUp(options, fromMs, Math.ceil(Date.now() / MINUTE_MS) * MINUTE_MS)
  return { publishedS, storedS, rollupsS: since(stored), totalS: since(started) }
}
