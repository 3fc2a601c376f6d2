// Bench helpers that run in a child process of their own (autocannon, WebSocket clients), so that their
// work does not share the measured server's event loop or the bench's heap.
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { WsResult, WsSpec } from './lib-ws-clients.ts'

/** A helper started with `gate: true` in its spec: it starts up, reports ready, and waits for {@link go}. */
export interface GatedChild<T> {
  /** The helper has started (modules loaded, sockets open) and waits to begin. */
  ready: Promise<void>
  /** Begins its measured work. */
  go(): void
  result: Promise<T>
}

/**
 * Starts a bench helper that waits at a start gate, so several helpers begin at the same moment and their
 * start-up (loading tsx and their modules, a burst of CPU each) falls before the measured window, not in it.
 */
export function gatedChild<T>(file: string, spec: object): GatedChild<T> {
  const child = fork(join(import.meta.dirname, file), [JSON.stringify({ ...spec, gate: true })], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  let ready: () => void = () => {}
  const result = new Promise<T>((resolve, reject) => {
    child.on('message', (m) => {
      if (m === 'ready') ready()
      else if (m !== 'measuring') resolve(m as T)
    })
    child.once('exit', (code) => reject(new Error(`${file} exited (${String(code)}) without a result`)))
  })
  return {
    ready: new Promise<void>((resolve, reject) => {
      ready = resolve
      result.catch(reject)
    }),
    go: () => child.send('go'),
    result: result.then(async (r) => {
      await exited
      return r
    }),
  }
}

/** Helper side of the start gate: reports ready and resolves on the parent's go (at once without a gate). */
export async function startGate(spec: { gate?: boolean }): Promise<void> {
  if (!spec.gate) return
  const go = once(process, 'message')
  process.send?.('ready')
  await go
}

/** Runs a bench helper (bench/<file>) in a child process of its own and resolves with the result it sends. */
export async function runChild<T>(file: string, spec: unknown): Promise<T> {
  const child = fork(join(import.meta.dirname, file), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const result = await new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T))
    child.once('exit', (code) => reject(new Error(`${file} exited (${String(code)}) without a result`)))
  })
  await exited
  return result
}

/**
 * Runs the WebSocket clients (bench/lib-ws-clients.ts); `onMeasuring` is called once they are all
 * connected and the measured window starts, so that the handshakes are not counted in what is measured.
 */
export async function wsClients(spec: WsSpec, onMeasuring: () => void): Promise<WsResult> {
  const child = fork(join(import.meta.dirname, 'lib-ws-clients.ts'), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const result = await new Promise<WsResult>((resolve, reject) => {
    child.on('message', (m: WsResult | 'measuring') => (m === 'measuring' ? onMeasuring() : resolve(m)))
    child.once('exit', (code) =>
      reject(new Error(`WebSocket clients exited (${String(code)}) without a result`)),
    )
  })
  await exited
  return result
}
