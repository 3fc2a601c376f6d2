import { readFile, rename } from 'node:fs/promises'
import { writeFileAtomically } from '@evmon/runtime'
import { AlertEngine } from './alert-engine.ts'
import { decodeAlertState, encodeAlertState } from './alert-state.ts'

/** Where the alerts file reports what went wrong (the app's logger). */
export interface WarnLog {
  warn(message: string): void
}

/**
 * An engine with the alerts saved in `path`: none when there is no file yet. A file that cannot be
 * used never stops the API: it is renamed `<path>.corrupt-<time>` for inspection, with a warning, and
 * the engine starts empty.
 */
export async function loadAlertEngine(path: string, log: WarnLog, now: number): Promise<AlertEngine> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn(`alerts file ${path} cannot be read (${(err as Error).message}); starting with no alerts`)
    return new AlertEngine()
  }
  const decoded = decodeAlertState(text)
  if (decoded.ok) return new AlertEngine(decoded.state)
  const aside = `${path}.corrupt-${new Date(now).toISOString().replace(/[:.]/g, '')}`
  try {
    await rename(path, aside)
    log.warn(
      `alerts file ${path} is unusable (${decoded.problem}); kept as ${aside}, starting with no alerts`,
    )
  } catch (err) {
    log.warn(
      `alerts file ${path} is unusable (${decoded.problem}) and could not be set aside ` +
        `(${(err as Error).message}); starting with no alerts`,
    )
  }
  return new AlertEngine()
}

/**
 * Saves an engine's state to `path` after each change: changes within `debounceMs` of the first share
 * one write, and at most one write is in flight (a change during it schedules the next). A failed write
 * is logged; the next change tries again.
 */
export class AlertFileWriter {
  private timer: NodeJS.Timeout | undefined
  private writing: Promise<void> | undefined
  private dirty = false
  private closed = false

  constructor(
    private readonly path: string,
    private readonly engine: AlertEngine,
    private readonly log: WarnLog,
    private readonly debounceMs: number,
  ) {}

  /** Notes a change; the state is read when the write starts, so it is never older than the change. */
  schedule(): void {
    this.dirty = true
    if (this.closed || this.timer !== undefined || this.writing !== undefined) return
    this.timer = setTimeout(() => void this.write(), this.debounceMs)
  }

  /** The final save: waits for a write in flight, then writes the state as it is now. Later changes are not saved. */
  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.writing !== undefined) await this.writing
    await this.write()
  }

  private async write(): Promise<void> {
    this.timer = undefined
    this.dirty = false
    this.writing = writeFileAtomically(this.path, encodeAlertState(this.engine.state())).catch((err: Error) =>
      this.log.warn(`alerts file ${this.path} not saved: ${err.message}`),
    )
    await this.writing
    this.writing = undefined
    if (this.dirty) this.schedule()
  }
}
