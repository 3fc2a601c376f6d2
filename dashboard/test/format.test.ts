import { describe, expect, test } from 'vitest'
import {
  formatCelsius,
  formatClock,
  formatDuration,
  formatKw,
  formatKwh,
  formatPercent,
  formatPricePerKwh,
  formatTime,
} from '../src/format.ts'

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

describe('formatClock', () => {
  test('drops the seconds and keeps the 24-hour clock after midnight', () => {
    expect(formatClock(Date.UTC(2025, 2, 25, 2, 30, 5), 'Asia/Shanghai')).toBe('10:30')
    expect(formatClock(Date.UTC(2025, 2, 25, 16, 5, 59), 'Asia/Shanghai')).toBe('00:05')
    expect(formatClock(undefined)).toBe('—')
  })
})

describe('formatKwh', () => {
  test('switches to MWh from 10 MWh on', () => {
    expect(formatKwh(32_400)).toBe('32.4 kWh')
    expect(formatKwh(1_234_000)).toBe('1,234 kWh')
    expect(formatKwh(12_345_678)).toBe('12.3 MWh')
    expect(formatKwh(null)).toBe('—')
  })
})

describe('formatCelsius', () => {
  test('keeps one decimal, where the derating threshold is decided', () => {
    expect(formatCelsius(79.96)).toBe('80.0 °C')
    expect(formatCelsius(undefined)).toBe('—')
  })
})

describe('formatDuration', () => {
  test('drops seconds from a minute on and rejects negative spans', () => {
    expect(formatDuration(45)).toBe('45 sec')
    expect(formatDuration(90)).toBe('2 min')
    expect(formatDuration(3600)).toBe('1 hr')
    expect(formatDuration(-1)).toBe('—')
  })
})

describe('formatPricePerKwh', () => {
  test('shows two decimals of yuan', () => {
    expect(formatPricePerKwh(0.5435, 'zh-CN')).toBe('¥0.54/kWh')
  })
})
