import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { expect, test } from 'vitest'

// A child process that stops through stopOnSignal; `stopMs` is how long its stop() takes, `fail` makes
// stop() reject. It prints "ready" once the handlers are in place and "stopped" when stop() resolves.
function child(stopMs: number, opts: { limitMs?: number; fail?: boolean } = {}) {
  const script = `
    import { stopOnSignal } from '@evmon/runtime'
    stopOnSignal(async (signal) => {
      console.log('stopping ' + signal)
      await new Promise((r) => setTimeout(r, ${stopMs}))
      if (${opts.fail === true}) throw new Error('disk gone')
      console.log('stopped')
    }, { limitMs: ${opts.limitMs ?? 'undefined'}, onFailure: (reason) => console.log('failure ' + reason) })
    setInterval(() => {}, 1000)
    console.log('ready')
  `
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let out = ''
  const ready = new Promise<void>((resolve) =>
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('ready')) resolve()
    }),
  )
  const exited = once(proc, 'exit').then(([code]) => ({ code: code as number, out }))
  return { proc, ready, exited }
}

test('SIGTERM runs stop once and exits 0 when it resolves', async () => {
  const c = child(200)
  await c.ready
  c.proc.kill('SIGTERM')
  const { code, out } = await c.exited
  expect(code).toBe(0)
  expect(out).toContain('stopping SIGTERM')
  expect(out).toContain('stopped')
})

test('a stop that outlasts its limit exits 1 and says so', async () => {
  const c = child(5_000, { limitMs: 200 })
  await c.ready
  const t0 = Date.now()
  c.proc.kill('SIGINT')
  const { code, out } = await c.exited
  expect(code).toBe(1)
  expect(out).toContain('failure timeout')
  expect(out).not.toContain('stopped')
  expect(Date.now() - t0).toBeLessThan(3_000)
})

test('a failing stop exits 1; a second signal exits 1 at once', async () => {
  const failing = child(50, { fail: true })
  await failing.ready
  failing.proc.kill('SIGTERM')
  expect(await failing.exited).toMatchObject({ code: 1, out: expect.stringContaining('failure failed') })

  const slow = child(10_000)
  await slow.ready
  slow.proc.kill('SIGTERM')
  await new Promise((r) => setTimeout(r, 100))
  const t0 = Date.now()
  slow.proc.kill('SIGTERM')
  const { code, out } = await slow.exited
  expect(code).toBe(1)
  expect(out).not.toContain('stopped')
  expect(Date.now() - t0).toBeLessThan(3_000)
})
