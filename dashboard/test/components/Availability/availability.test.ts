import type { AvailabilityConnector } from '@evmon/contracts'
import { describe, expect, test } from 'vitest'
import { driverState, freeCounts, sortForDrivers } from '../../../src/components/Availability/availability.ts'

function gun(
  station: string,
  connector: number,
  change: Partial<AvailabilityConnector>,
): AvailabilityConnector {
  return {
    station,
    station_name: null,
    connector,
    kind: 'dc',
    standard: null,
    status: 'Available',
    free: true,
    max_power_w: 160_000,
    typical_800v_w: 150_000,
    typical_400v_w: 95_000,
    free_in_min: null,
    ...change,
  }
}

describe('availability for drivers', () => {
  const list = [
    gun('kc-fast-1', 1, { status: 'Charging', free: false, free_in_min: 25 }),
    gun('kc-ac', 1, { kind: 'ac', typical_800v_w: null, typical_400v_w: null, max_power_w: 7_000 }),
    gun('zn-super', 2, { status: 'Faulted', free: false }),
    gun('zn-super', 1, { typical_800v_w: 432_000, max_power_w: 480_000 }),
    gun('kc-fast-2', 1, { status: 'Charging', free: false, free_in_min: 5 }),
    gun('kc-fast-2', 2, { status: null, free: false }),
  ]

  test('free first and fastest first, then soonest free, then out of service', () => {
    expect(sortForDrivers(list).map((c) => `${c.station}/${c.connector}`)).toEqual([
      'zn-super/1',
      'kc-ac/1',
      'kc-fast-2/1',
      'kc-fast-1/1',
      'kc-fast-2/2',
      'zn-super/2',
    ])
  })

  test('an offline connector is out of service, not busy', () => {
    expect(driverState(list[5]!)).toBe('down')
    expect(driverState(list[0]!)).toBe('busy')
  })

  test('counts free DC and AC connectors', () => {
    expect(freeCounts(list)).toEqual({ dc: 1, ac: 1, total: 2 })
  })
})
