import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { SampleWheel } from '../src/sampling.ts'

describe('SampleWheel', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }))
  afterEach(() => vi.useRealTimers())

  /** A wheel of 1,000 ms in 20 ms slots, recording when each key fell due and scheduling it again. */
  function wheel() {
    const due: [string, number][] = []
    const w: SampleWheel = new SampleWheel(
      1_000,
      (key) => {
        due.push([key, Date.now()])
        w.schedule(key)
      },
      20,
      () => Date.now(),
    )
    return { w, due }
  }

  test('a key falls due once a period, at most one slot early, however many keys share the wheel', () => {
    const { w, due } = wheel()
    vi.advanceTimersByTime(5)
    w.schedule('a')
    vi.advanceTimersByTime(300)
    w.schedule('b')
    vi.advanceTimersByTime(3_000)
    const times = (key: string) => due.filter(([k]) => k === key).map(([, t]) => t)
    expect(times('a')).toEqual([1_000, 2_000, 3_000])
    // Scheduled at 305 ms: due from 1,285 ms on, turned with the slot of 1,300 ms.
    expect(times('b')).toEqual([1_300, 2_300, 3_300])
    w.stop()
  })

  test('scheduling again restarts the period; a cancelled key never falls due', () => {
    const { w, due } = wheel()
    w.schedule('a')
    w.schedule('b')
    vi.advanceTimersByTime(610)
    w.schedule('a')
    w.cancel('b')
    vi.advanceTimersByTime(1_500)
    expect(due).toEqual([['a', 1_600]])
    w.stop()
  })

  test('after a stall the slots missed are turned, each key once', () => {
    const { w, due } = wheel()
    w.schedule('a')
    w.schedule('b')
    // The event loop blocked for 2.5 periods: the interval timer runs late, once.
    vi.setSystemTime(2_500)
    vi.advanceTimersToNextTimer()
    expect(due.map(([k]) => k).sort()).toEqual(['a', 'b'])
    w.stop()
  })

  test('stop ends the timer: nothing falls due afterwards', () => {
    const { w, due } = wheel()
    w.schedule('a')
    w.stop()
    vi.advanceTimersByTime(5_000)
    expect(due).toEqual([])
  })
})
