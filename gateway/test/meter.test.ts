import { describe, expect, test } from 'vitest'
import { parseTimestamp, readSampledValues, type RejectReason, type SampledValue } from '../src/meter.ts'

function read(sampled: SampledValue[]) {
  const rejected: [RejectReason, string][] = []
  const reading = readSampledValues(1_000, sampled, (reason, detail) => rejected.push([reason, detail]))
  return { values: reading.values, rejected }
}

describe('readSampledValues', () => {
  test('converts kW and kWh to W and Wh; a value without measurand is the energy register in Wh', () => {
    expect(read([{ value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' }]).values).toEqual({
      power_w: 7400,
    })
    expect(read([{ value: '12.345', unit: 'kWh' }]).values).toEqual({ energy_wh: 12345 })
    expect(read([{ value: '99' }]).values).toEqual({ energy_wh: 99 })
  })

  test('carries the decimal the charger sent, without floating-point noise from the conversion', () => {
    // 524.1281 × 1000 is 524128.10000000003 in floating point; 0.1 W + 0.2 W over two phases is 0.30000000000000004;
    // 1.1 × 10² is 110.00000000000001.
    expect(read([{ value: '524.1281', unit: 'kWh' }]).values).toEqual({ energy_wh: 524128.1 })
    expect(
      read([
        { value: '0.0001', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L1' },
        { value: '0.0002', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L2' },
      ]).values,
    ).toEqual({ power_w: 0.3 })
    expect(read([{ value: 1.1, unit: 'Wh', multiplier: 2 }]).values).toEqual({ energy_wh: 110 })
  })

  test('applies the 2.0.1 multiplier (value × 10^multiplier)', () => {
    expect(read([{ value: 625, unit: 'Wh', multiplier: 1 }]).values).toEqual({ energy_wh: 6250 })
    expect(read([{ value: 5, measurand: 'Power.Offered', unit: 'W', multiplier: 3 }]).values).toEqual({
      offered_w: 5000,
    })
  })

  test('per-phase values: power and current summed, line-to-neutral voltage averaged, the rest ignored', () => {
    const { values } = read([
      { value: '3.6', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L1' },
      { value: '3.7', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L2' },
      { value: '3.7', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L3' },
      { value: '16', measurand: 'Current.Import', unit: 'A', phase: 'L1' },
      { value: '16', measurand: 'Current.Import', unit: 'A', phase: 'L2' },
      { value: '16', measurand: 'Current.Import', unit: 'A', phase: 'L3' },
      { value: '0.4', measurand: 'Current.Import', unit: 'A', phase: 'N' },
      { value: '229', measurand: 'Voltage', unit: 'V', phase: 'L1-N' },
      { value: '231', measurand: 'Voltage', unit: 'V', phase: 'L2-N' },
      { value: '230', measurand: 'Voltage', unit: 'V', phase: 'L3-N' },
      { value: '400', measurand: 'Voltage', unit: 'V', phase: 'L1-L2' },
    ])
    expect(values).toEqual({ power_w: 11_000, current_a: 48, voltage_v: 230 })
  })

  test('a phase-less total wins over the phases', () => {
    const { values } = read([
      { value: '11', measurand: 'Power.Active.Import', unit: 'kW' },
      { value: '3', measurand: 'Power.Active.Import', unit: 'kW', phase: 'L1' },
    ])
    expect(values).toEqual({ power_w: 11_000 })
  })

  test('SoC in Percent, temperatures in Celsius, Fahrenheit or K; the car’s own temperature is not the charger’s', () => {
    expect(
      read([
        { value: '80', measurand: 'SoC', unit: 'Percent' },
        { value: '122', measurand: 'Temperature', unit: 'Fahrenheit', location: 'Outlet' },
      ]).values,
    ).toEqual({ soc_pct: 80, temp_c: 50 })
    expect(read([{ value: '300.15', measurand: 'Temperature', unit: 'K' }]).values.temp_c).toBeCloseTo(27)
    const ev = read([{ value: '30', measurand: 'Temperature', unit: 'Celsius', location: 'EV' }])
    expect(ev.values).toEqual({})
    expect(ev.rejected[0]?.[0]).toBe('not_in_contract')
  })

  test('unknown units, non-numbers, signed data and absurd values are rejected with a reason, never carried', () => {
    const { values, rejected } = read([
      { value: '5', measurand: 'Power.Active.Import', unit: 'kVA' },
      { value: 'abc', measurand: 'Voltage', unit: 'V' },
      { value: '', measurand: 'Current.Import', unit: 'A' },
      { value: 'SIGNED', format: 'SignedData' },
      { value: '101', measurand: 'SoC', unit: 'Percent' },
      { value: '-5', measurand: 'Power.Offered', unit: 'W' },
      { value: '3000', measurand: 'Power.Active.Import', unit: 'kW' },
      { value: '50', measurand: 'Frequency' },
    ])
    expect(values).toEqual({})
    expect(rejected.map(([reason]) => reason).sort()).toEqual([
      'absurd',
      'absurd',
      'absurd',
      'not_a_number',
      'not_a_number',
      'not_in_contract',
      'signed_data',
      'unit',
    ])
  })
})

describe('parseTimestamp', () => {
  const now = Date.parse('2026-03-25T12:00:00Z')
  test('accepts a plausible time, refuses garbage, the future beyond skew and the past beyond retention', () => {
    expect(parseTimestamp('2026-03-25T11:59:00Z', now)).toBe(now - 60_000)
    expect(parseTimestamp('yesterday', now)).toBe('ts_invalid')
    expect(parseTimestamp('2026-03-25T13:00:00Z', now)).toBe('ts_future')
    expect(parseTimestamp('2019-03-25T12:00:00Z', now)).toBe('ts_past')
  })
})
