import { describe, expect, test } from 'vitest'
import { ApiError } from '../../src/errors.ts'
import {
  EVERY_PATTERN,
  TIME_PATTERN,
  historyLimits,
  parseEvery,
  parseTime,
  resolveWindow,
} from '../../src/influx/history-window.ts'

const NOW = Date.parse('2025-03-25T12:00:00Z')
const HOUR = 3_600_000

function badRequestMessage(run: () => unknown): string {
  try {
    run()
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).statusCode).toBe(400)
    return (err as ApiError).message
  }
  throw new Error('expected a 400')
}

describe('time parameters', () => {
  const time = new RegExp(TIME_PATTERN)

  test.each([
    '1742904000000',
    '2025-03-25',
    '2025-03-25T12:00Z',
    '2025-03-25T12:00:00.5Z',
    '2025-03-25T20:00:00+08:00',
  ])('%s is accepted', (value) => {
    expect(time.test(value)).toBe(true)
    expect(parseTime(value, 'from')).toBe(value.startsWith('17') ? Number(value) : Date.parse(value))
  })

  test.each([
    "2025-03-25'",
    '2025-03-25T12:00:00',
    'now',
    '-1',
    '2025-3-5',
    '1e12',
    '1; DROP DATABASE evmon',
    '/.*/',
  ])('%s is refused by the pattern', (value) => expect(time.test(value)).toBe(false))

  test('a date that does not exist is refused rather than rolled over', () => {
    expect(badRequestMessage(() => parseTime('2025-02-30', 'from'))).toMatch(
      /from 2025-02-30 is not a valid date/,
    )
  })

  test('times InfluxDB cannot store are refused', () => {
    expect(badRequestMessage(() => parseTime('999999999999999', 'to'))).toMatch(/outside/)
    expect(badRequestMessage(() => parseTime('1969-12-31', 'from'))).toMatch(/outside/)
  })
})

describe('bucket width', () => {
  const every = new RegExp(EVERY_PATTERN)

  test.each([
    ['10s', 10_000],
    ['1m', 60_000],
    ['1h', HOUR],
    ['2d', 2 * 86_400_000],
  ])('%s is %i ms', (value, ms) => {
    expect(every.test(value)).toBe(true)
    expect(parseEvery(value)).toBe(ms)
  })

  test.each(['0s', '10', '1ms', '1w', '10 s', '-1m', '1m;', '1234567s'])(
    '%s is refused by the pattern',
    (value) => expect(every.test(value)).toBe(false),
  )
})

describe('history window', () => {
  test('defaults to the last hour with about the default number of buckets', () => {
    const window = resolveWindow({}, NOW)
    expect(window).toMatchObject({ fromMs: NOW - HOUR, toMs: NOW })
    expect(HOUR / window.everyMs).toBeLessThanOrEqual(historyLimits.defaultBuckets)
    expect(HOUR / window.everyMs).toBeGreaterThan(historyLimits.defaultBuckets / 10)
  })

  test('with only `to`, the window is the hour before it; with only `from`, it runs to now', () => {
    expect(resolveWindow({ to: '2025-03-25T06:00Z' }, NOW)).toMatchObject({
      fromMs: Date.parse('2025-03-25T05:00Z'),
      toMs: Date.parse('2025-03-25T06:00Z'),
    })
    expect(resolveWindow({ from: '2025-03-24' }, NOW)).toMatchObject({
      fromMs: Date.parse('2025-03-24'),
      toMs: NOW,
    })
  })

  test('an explicit every is kept as given', () => {
    expect(resolveWindow({ every: '1m' }, NOW)).toMatchObject({ every: '1m', everyMs: 60_000 })
  })

  test('a reversed or empty range is refused', () => {
    expect(badRequestMessage(() => resolveWindow({ from: '2025-03-25', to: '2025-03-24' }, NOW))).toMatch(
      /from \(2025-03-25T00:00:00.000Z\) must be before to/,
    )
    expect(badRequestMessage(() => resolveWindow({ from: '1000', to: '1000' }, NOW))).toMatch(
      /must be before/,
    )
  })

  test('a bucket wider than the longest range is refused, one as wide is not', () => {
    // The fuzz found 170000d: 1.5e19 ns, beyond InfluxDB's 64-bit time, answered 502 by the query.
    expect(badRequestMessage(() => resolveWindow({ every: '170000d' }, NOW))).toMatch(
      /every=170000d is wider than the 731 days/,
    )
    expect(badRequestMessage(() => resolveWindow({ every: '732d' }, NOW))).toMatch(/wider than/)
    expect(resolveWindow({ every: '731d' }, NOW).everyMs).toBe(historyLimits.maxRangeMs)
  })

  test('a range longer than two years is refused', () => {
    expect(
      badRequestMessage(() => resolveWindow({ from: '2020-01-01', to: '2025-01-01', every: '7d' }, NOW)),
    ).toMatch(/longer than the 731 allowed/)
  })

  test('a bucket width giving more than the bucket limit is refused, one giving exactly the limit is not', () => {
    const to = String(NOW)
    const from = String(NOW - historyLimits.maxBuckets * 1_000)
    expect(resolveWindow({ from, to, every: '1s' }, NOW).everyMs).toBe(1_000)
    expect(
      badRequestMessage(() => resolveWindow({ from: String(Number(from) - 1_000), to, every: '1s' }, NOW)),
    ).toMatch(/gives 5001 buckets over this range, at most 5000/)
  })

  test('the default bucket width stays within the limit for the longest range', () => {
    const window = resolveWindow({ from: String(NOW - historyLimits.maxRangeMs) }, NOW)
    expect(historyLimits.maxRangeMs / window.everyMs).toBeLessThanOrEqual(historyLimits.maxBuckets)
  })
})
