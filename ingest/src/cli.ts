import { parseArgs } from 'node:util'
import type { IngestConfig } from './config.ts'
import { createWriter } from './index.ts'
import { redrive, summariseDeadLetters } from './redrive.ts'

/** Commands of `npm run ingest -- <command>`; without one, ingest runs. */
const CLI_COMMANDS = ['dead-letters', 'redrive'] as const
export type CliCommand = (typeof CLI_COMMANDS)[number]

export const isCliCommand = (arg: string | undefined): arg is CliCommand =>
  (CLI_COMMANDS as readonly string[]).includes(arg ?? '')

const USAGE = `usage:
  npm run ingest -- dead-letters [--json]
      records of the dead-letter store (EVMON_INGEST_DEAD_LETTER) by reason and station
  npm run ingest -- redrive [--reason R] [--station S] [--shift-time MS] [--json]
      writes them to InfluxDB again, times shifted by MS (e.g. after a station's clock was fixed);
      each stored record is marked, so running it twice stores nothing new`

const iso = (ms: number) => new Date(ms).toISOString()

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/**
 * Runs one command and returns its exit status: 0 done, 1 a redrive left records refused, 2 bad usage.
 * Output goes to `out` (stdout), problems to `err`.
 */
export async function runCli(
  command: CliCommand,
  args: string[],
  config: Readonly<IngestConfig>,
  out: (text: string) => void = (t) => process.stdout.write(`${t}\n`),
  err: (text: string) => void = (t) => process.stderr.write(`${t}\n`),
): Promise<number> {
  let values: { reason?: string; station?: string; 'shift-time'?: string; json?: boolean }
  // `--shift-time -7200000` would read the negative number as an option: join it to its flag.
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const next = args[i + 1]
    if (arg === '--shift-time' && next !== undefined && /^-\d+$/.test(next)) {
      joined.push(`--shift-time=${next}`)
      i++
    } else joined.push(arg)
  }
  try {
    values = parseArgs({
      args: joined,
      options: {
        reason: { type: 'string' },
        station: { type: 'string' },
        'shift-time': { type: 'string' },
        json: { type: 'boolean' },
      },
      strict: true,
    }).values
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`)
    return 2
  }
  const path = config.deadLetterPath

  if (command === 'dead-letters') {
    const { rows, torn } = await summariseDeadLetters(path)
    if (values.json) {
      out(JSON.stringify({ path, rows, torn }))
      return 0
    }
    out(`dead-letter store ${path}${torn > 0 ? ` (${torn} torn lines skipped)` : ''}`)
    out(
      table(
        ['reason', 'station', 'records', 'redriven', 'first', 'last'],
        rows.map((r) => [
          r.reason,
          r.station,
          String(r.records),
          String(r.redriven),
          iso(r.first),
          iso(r.last),
        ]),
      ),
    )
    return 0
  }

  const shift = values['shift-time'] ?? '0'
  if (!/^-?\d{1,15}$/.test(shift)) {
    err(`--shift-time must be a whole number of milliseconds, not ${shift}\n${USAGE}`)
    return 2
  }
  const writer = createWriter(config)
  try {
    await writer.prepare()
    const result = await redrive(path, writer, {
      ...(values.reason !== undefined && { reason: values.reason }),
      ...(values.station !== undefined && { station: values.station }),
      shiftMs: Number(shift),
      backoff: { initialMs: config.retryInitialMs, maxMs: config.retryMaxMs },
      batchSize: config.batchSizePoints,
    })
    if (values.json) out(JSON.stringify(result))
    else {
      out(
        `matched ${result.matched} records: ${result.redriven} redriven (${result.points} points stored), ` +
          `${result.alreadyRedriven} already redriven before, ${result.stillRejected.length} still refused`,
      )
      for (const r of result.stillRejected.slice(0, 20))
        out(`  ${r.id} ${r.station ?? '-'} ${r.reason}: ${r.detail}`)
    }
    return result.stillRejected.length > 0 ? 1 : 0
  } finally {
    await writer.close()
  }
}
