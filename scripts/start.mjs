// `npm start` on a fresh clone: install what is missing, build the dashboard once, run the stack.
// Plain Node because it runs before dependencies exist.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const step = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

step(process.execPath, [join(root, 'scripts', 'bootstrap.mjs')])
if (!existsSync(join(root, 'dashboard', 'dist', 'index.html'))) {
  console.log('start: building the dashboard (first run)')
  step('npm', ['run', 'build'])
}
const stack = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'run-stack.ts')], {
  stdio: 'inherit',
  cwd: root,
})
// Ctrl-C reaches the whole process group; the stack shuts itself down, we wait for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stack.kill(signal))
stack.on('exit', (code) => process.exit(code ?? 1))
