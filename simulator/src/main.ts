import { parseConfig, USAGE } from './config.ts'
import { runDryRun } from './dry-run.ts'
import { start } from './live.ts'
import { SiteConfigError } from './site-config.ts'

// Thin entry point: flags and environment in, signals wired; everything else is start() and
// runDryRun(), which tests call in-process.
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

try {
  if (config.mode === 'dry-run') {
    const { messages, lastMs } = await runDryRun(config)
    console.error(`simulator: dry run wrote ${messages} messages up to ${new Date(lastMs).toISOString()}`)
  } else {
    const simulator = await start(config)
    let stopping = false
    const stop = () => {
      if (stopping) return
      stopping = true
      void simulator.close().then(() => process.exit(0))
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    await simulator.done
    stop()
  }
} catch (err) {
  // A bad site file is the user's to fix: say what is wrong, without a stack trace.
  if (err instanceof SiteConfigError) {
    console.error(`simulator: ${err.message}`)
    process.exit(2)
  }
  throw err
}
