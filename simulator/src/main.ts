import { createLogger } from '@evmon/runtime'
import { parseConfig, USAGE } from './config.ts'
import { runDryRun } from './dry-run.ts'
import { start } from './live.ts'
import { startReplay } from './replay.ts'
import { SiteConfigError } from './site-config.ts'
import { StateFileError } from './state-file.ts'

// Thin entry point: flags and environment in, signals wired; everything else is start(),
// runDryRun() and startReplay(), which tests call in-process.
const parsed = parseConfig(process.argv.slice(2), process.env)
if (parsed.kind === 'help') {
  process.stdout.write(USAGE)
  process.exit(0)
}
if (parsed.kind === 'invalid') {
  console.error(`simulator: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`)
  console.error('Run with --help for the options.')
  process.exit(2)
}
const config = parsed.config
// Logs on stderr, so a dry run's NDJSON on stdout stays clean.
const logger = createLogger('simulator', { to: 'stderr' })
const log = {
  info: (message: string) => logger.info(message),
  warn: (message: string) => logger.warn(message),
}

// Runs until `done`, or until SIGINT/SIGTERM closes it first.
async function runUntilDone(handle: { done: Promise<unknown>; close(): Promise<void> }): Promise<void> {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    void handle.close().then(() => process.exit(0))
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  await handle.done
  stop()
}

try {
  if (config.mode === 'dry-run') {
    const { messages, lastMs } = await runDryRun(config)
    console.error(`simulator: dry run wrote ${messages} messages up to ${new Date(lastMs).toISOString()}`)
  } else if (config.mode === 'replay') {
    const replay = await startReplay(config, log)
    void replay.done.then(({ messages, skipped }) =>
      log.info(`replayed ${messages} messages${skipped > 0 ? `, skipped ${skipped} unusable lines` : ''}`),
    )
    await runUntilDone(replay)
  } else {
    await runUntilDone(await start(config, { log }))
  }
} catch (err) {
  // A bad site or state file is the user's to fix: say what is wrong, without a stack trace.
  if (
    err instanceof SiteConfigError ||
    err instanceof StateFileError ||
    (err as NodeJS.ErrnoException).code === 'ENOENT'
  ) {
    console.error(`simulator: ${(err as Error).message}`)
    process.exit(2)
  }
  throw err
}
