// Measurement helpers for the benches: CPU time per process from /proc/<pid>/stat (Linux), percentiles.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const CLOCK_TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** User + system CPU seconds the process has used so far (its threads included, not its children). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S
}

/** Measures CPU use of several processes over a window, in % of one core. */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const start = performance.now()
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)]))
  return () => {
    const elapsedS = (performance.now() - start) / 1000
    return Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [
        name,
        Math.round(((cpuSeconds(pid) - (before[name] ?? 0)) / elapsedS) * 1000) / 10,
      ]),
    )
  }
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** The process whose command line holds `marker` (a private config path or port), for CPU readings. */
export function pidOf(marker: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(marker))
        return Number(entry)
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no process with ${marker} in its command line`)
}

/**
 * A Prometheus sample's value: `name` with its labels as printed (`x{kind="a"}`) for that one sample,
 * a bare name for the sum over all its labels; NaN when absent.
 */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text()
  let sum = Number.NaN
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const space = line.lastIndexOf(' ')
    const series = line.slice(0, space)
    if (series === name || (!name.includes('{') && series.startsWith(`${name}{`)))
      sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(space + 1))
  }
  return sum
}
