// Bench helpers that run in a child process of their own (autocannon, WebSocket clients), so that their
// work does not share the measured server's event loop or the bench's heap.
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import type { WsResult, WsSpec } from './lib-ws-clients.ts'

/**
 * Forks bench/<file> with `spec` as its argument. A string the helper sends is a signal for `onSignal`
 * ('ready', 'measuring'); anything else is its result, which resolves once the helper has exited.
 */
function forkHelper<T>(
  file: string,
  spec: unknown,
  onSignal: (signal: string) => void = () => {},
): { child: ChildProcess; result: Promise<T> } {
  const child = fork(join(import.meta.dirname, file), [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit')
  const result = new Promise<T>((resolve, reject) => {
    child.on('message', (m) => (typeof m === 'string' ? onSignal(m) : resolve(m as T)))
    child.once('exit', (code) => reject(new Error(`${file} exited (${String(code)}) without a result`)))
  }).then(async (r) => {
    await exited
    return r
  })
  return { child, result }
}

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
  let ready: () => void = () => {}
  const { child, result } = forkHelper<T>(file, { ...spec, gate: true }, (signal) => {
    if (signal === 'ready') ready()
  })
  return {
    ready: new Promise<void>((resolve, reject) => {
      ready = resolve
      result.catch(reject)
    }),
    go: () => child.send('go'),
    result,
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
export function runChild<T>(file: string, spec: unknown): Promise<T> {
  return forkHelper<T>(file, spec).result
}

/**
 * Runs the WebSocket clients (bench/lib-ws-clients.ts); `onMeasuring` is called once they are all
 * connected and the measured window starts, so that the handshakes are not counted in what is measured.
 */
export function wsClients(spec: WsSpec, onMeasuring: () => void): Promise<WsResult> {
  return forkHelper<WsResult>('lib-ws-clients.ts', spec, (signal) => {
    if (signal === 'measuring') onMeasuring()
  }).result
}
