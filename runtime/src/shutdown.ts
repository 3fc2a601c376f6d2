/** How a service stops on SIGINT/SIGTERM (see {@link stopOnSignal}). */
export interface StopOptions {
  /** Exit with 1 if stopping takes longer than this; no bound when absent. */
  limitMs?: number
  /** Told why the process exits with 1: stopping failed (`err`) or took longer than `limitMs`. */
  onFailure?: (reason: 'failed' | 'timeout', err?: unknown) => void
}

/**
 * Runs `stop` once on the first SIGINT or SIGTERM, then exits 0; exits 1 when stopping fails or
 * outlasts `limitMs`. A second signal means "now": the process exits 1 at once.
 */
export function stopOnSignal(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  options: StopOptions = {},
): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(1)
    stopping = true
    const limit =
      options.limitMs === undefined
        ? undefined
        : setTimeout(() => {
            options.onFailure?.('timeout')
            process.exit(1)
          }, options.limitMs)
    stop(signal).then(
      () => {
        clearTimeout(limit)
        process.exit(0)
      },
      (err: unknown) => {
        options.onFailure?.('failed', err)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
