/** Matches a line {@link progressLine} drew, so a parent process can tell progress from logs. */
export const PROGRESS_LINE = /^\[[#.]+\] \d+(\.\d)?% /

/** Renders backfill progress: a bar, the simulated time reached, the rate and the time left. */
export function progressLine(done: number, total: number, elapsedMs: number, nowMs: number): string {
  const share = total > 0 ? done / total : 1
  const width = 30
  const filled = Math.round(share * width)
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0
  const etaS = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY
  return (
    `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1)}% ` +
    `${new Date(nowMs).toISOString().slice(0, 19)}Z, ${Math.round(rate)} samples/s, ETA ${formatSeconds(etaS)}`
  )
}

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`
}
