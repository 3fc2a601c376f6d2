import { onBeforeUnmount, onMounted, shallowRef, type ShallowRef } from 'vue'

export interface Polled<T> {
  /** The latest answer; kept through later failures so the screen does not blank out. */
  data: ShallowRef<T | null>
  /** The latest failure's message, cleared by the next success. */
  error: ShallowRef<string | null>
  /** Fetches now, outside the schedule (after a filter changes). */
  refresh: () => Promise<void>
}

/**
 * Calls `load` when the component mounts and every `intervalMs` after each answer (never overlapping),
 * until it unmounts. Each answer replaces the last, so nothing accumulates however long a wall screen
 * stays on the page.
 */
export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number): Polled<T> {
  const data = shallowRef<T | null>(null)
  const error = shallowRef<string | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  let request: AbortController | null = null
  let active = false

  async function refresh(): Promise<void> {
    clearTimeout(timer)
    request?.abort()
    const current = new AbortController()
    request = current
    try {
      data.value = await load(current.signal)
      error.value = null
    } catch (err) {
      if (current.signal.aborted) return
      error.value = (err as Error).message
    } finally {
      if (request === current) request = null
    }
    if (active && intervalMs > 0) timer = setTimeout(() => void refresh(), intervalMs)
  }

  onMounted(() => {
    active = true
    void refresh()
  })
  onBeforeUnmount(() => {
    active = false
    clearTimeout(timer)
    request?.abort()
  })
  return { data, error, refresh }
}
