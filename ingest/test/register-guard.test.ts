import type { DecodedMessage, Telemetry } from '@evmon/contracts'
import { expect, test } from 'vitest'
import { RegisterGuard } from '../src/register-guard.ts'

function sample(
  ts: number,
  grid: number,
  connectors: [id: number, energy: number][],
  station = 'zn-super',
): DecodedMessage {
  const payload: Telemetry = {
    v: 1,
    ts,
    seq: ts,
    meter: { grid_power_w: 0, grid_energy_wh: grid, aux_power_w: 0 },
    connectors: connectors.map(([id, energy_wh]) => ({
      id,
      status: 'Available',
      power_w: 0,
      offered_w: 0,
      voltage_v: 0,
      current_a: 0,
      energy_wh,
    })),
  }
  return { kind: 'telemetry', site: 'beibei', station, payload }
}

test('registers that hold or grow pass', () => {
  const guard = new RegisterGuard()
  expect(guard.accept(sample(1_000, 100, [[1, 10]]))).toBeUndefined()
  expect(guard.accept(sample(2_000, 100, [[1, 10]]))).toBeUndefined()
  expect(guard.accept(sample(3_000, 150, [[1, 40]]))).toBeUndefined()
})

test('a grid register lower than the last accepted one is refused', () => {
  const guard = new RegisterGuard()
  guard.accept(sample(1_000, 100, [[1, 10]]))
  expect(guard.accept(sample(2_000, 99, [[1, 10]]))?.detail).toMatch(/grid_energy_wh went from 100 .* to 99/)
})

test('a connector register lower than the last accepted one is refused', () => {
  const guard = new RegisterGuard()
  guard.accept(
    sample(1_000, 100, [
      [1, 10],
      [2, 50],
    ]),
  )
  expect(
    guard.accept(
      sample(2_000, 200, [
        [1, 20],
        [2, 49],
      ]),
    )?.detail,
  ).toMatch(/connector 2 energy_wh/)
})

test('a refused sample leaves the remembered values untouched', () => {
  const guard = new RegisterGuard()
  guard.accept(
    sample(1_000, 100, [
      [1, 10],
      [2, 50],
    ]),
  )
  // Connector 1 grows, connector 2 goes back: nothing from this sample may be remembered.
  expect(
    guard.accept(
      sample(2_000, 300, [
        [1, 30],
        [2, 5],
      ]),
    ),
  ).toBeDefined()
  expect(
    guard.accept(
      sample(3_000, 150, [
        [1, 15],
        [2, 50],
      ]),
    ),
  ).toBeUndefined()
})

test('an older sample arriving late is let through and does not move the reference', () => {
  const guard = new RegisterGuard()
  guard.accept(sample(5_000, 500, [[1, 50]]))
  expect(guard.accept(sample(4_000, 400, [[1, 40]]))).toBeUndefined()
  expect(guard.accept(sample(6_000, 450, [[1, 45]]))).toBeDefined()
})

test('stations and connectors are tracked separately', () => {
  const guard = new RegisterGuard()
  guard.accept(sample(1_000, 1_000, [[1, 500]], 'zn-super'))
  expect(guard.accept(sample(2_000, 10, [[1, 5]], 'zn-fast'))).toBeUndefined()
  expect(
    guard.accept(
      sample(
        2_000,
        1_000,
        [
          [1, 500],
          [2, 1],
        ],
        'zn-super',
      ),
    ),
  ).toBeUndefined()
})

test('messages without registers always pass', () => {
  const guard = new RegisterGuard()
  const online: DecodedMessage = {
    kind: 'online',
    site: 'beibei',
    station: 'zn-super',
    payload: { online: true },
  }
  expect(guard.accept(online)).toBeUndefined()
})
