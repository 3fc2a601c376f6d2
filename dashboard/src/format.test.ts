import { describe, expect, test } from 'vitest'
import { formatKw, formatPercent, formatTime } from './format.ts'

describe('formatKw', () => {
  test('keeps one decimal below 100 kW and none above', () => {
    expect(formatKw(6_900)).toBe('6.9 kW')
    expect(formatKw(7_000)).toBe('7.0 kW')
    expect(formatKw(99_940)).toBe('99.9 kW')
    expect(formatKw(452_300)).toBe('452 kW')
    expect(formatKw(480_000)).toBe('480 kW')
  })

  test('chooses decimals on the rounded value, so 99.96 kW reads 100 kW', () => {
    expect(formatKw(99_960)).toBe('100 kW')
  })

  test('groups thousands for a site above 1 MW', () => {
    expect(formatKw(1_234_567)).toBe('1,235 kW')
  })

  test('shows a bare zero for no power and for noise that rounds to zero', () => {
    expect(formatKw(0)).toBe('0 kW')
    expect(formatKw(40)).toBe('0 kW')
    expect(formatKw(-40)).toBe('0 kW')
  })

  test('shows a dash when the value is unknown', () => {
    expect(formatKw(null)).toBe('—')
    expect(formatKw(undefined)).toBe('—')
    expect(formatKw(Number.NaN)).toBe('—')
  })
})

describe('formatPercent', () => {
  test('rounds to a whole percent', () => {
    expect(formatPercent(43.1)).toBe('43%')
    expect(formatPercent(79.5)).toBe('80%')
    expect(formatPercent(100)).toBe('100%')
    expect(formatPercent(0)).toBe('0%')
  })

  test('shows a dash when unknown', () => {
    expect(formatPercent(null)).toBe('—')
  })
})

describe('formatTime', () => {
  const ts = Date.UTC(2025, 2, 25, 2, 30, 5) // 10:30:05 in Chongqing

  test('renders a 24-hour clock in the given zone', () => {
    expect(formatTime(ts, 'Asia/Shanghai')).toBe('10:30:05')
    expect(formatTime(ts, 'UTC')).toBe('02:30:05')
  })

  test('renders the hour after midnight as 00, not 24', () => {
    expect(formatTime(Date.UTC(2025, 2, 25, 16, 0, 1), 'Asia/Shanghai')).toBe('00:00:01')
  })

  test('shows a dash when unknown', () => {
    expect(formatTime(null)).toBe('—')
  })
})
