import { expect, test } from 'vitest'
import { backoffDelayMs, sleep } from '../src/backoff.ts'

const policy = { initialMs: 100, maxMs: 5_000 }

test('the delay doubles per attempt, with jitter between half and all of it', () => {
  expect(backoffDelayMs(0, policy, () => 0)).toBe(50)
  expect(backoffDelayMs(0, policy, () => 1)).toBe(100)
  expect(backoffDelayMs(3, policy, () => 0)).toBe(400)
  expect(backoffDelayMs(3, policy, () => 1)).toBe(800)
})

test('the delay never exceeds the cap, however many attempts', () => {
  for (const attempt of [6, 10, 100, 10_000]) {
    expect(backoffDelayMs(attempt, policy, () => 1)).toBe(5_000)
    expect(backoffDelayMs(attempt, policy, () => 0)).toBe(2_500)
  }
})

test('an abort ends a sleep at once with the reason', async () => {
  const controller = new AbortController()
  const pending = sleep(60_000, controller.signal)
  controller.abort(new Error('closing'))
  await expect(pending).rejects.toThrow('closing')
})
