import type { DecodedMessage, Telemetry } from '@evmon/contracts'
import { expect, test } from 'vitest'
import { REGISTER_ROUNDING_WH } from '@evmon/contracts'
import { RegisterGuard, type RegisterVerdict } from '../src/register-guard.ts'

const GAP_MS = 300_000
const OK = { ok: true, resets: [] }
const refusal = (verdict: RegisterVerdict) => (verdict.ok ? undefined : verdict.detail)

function sample(
  ts: number,
  grid: number,
  connectors: [id: number, energy: number][],
  station = 'zn-super',
  seq = ts,
): DecodedMessage {
  const payload: Telemetry = {
    v: 1,
    ts,
    seq,
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
  const guard = new RegisterGuard(GAP_MS)
  expect(guard.accept(sample(1_000, 100, [[1, 10]]))).toEqual(OK)
  expect(guard.accept(sample(2_000, 100, [[1, 10]]))).toEqual(OK)
  expect(guard.accept(sample(3_000, 150, [[1, 40]]))).toEqual(OK)
})

test('a grid register lower than the last accepted one is refused', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(1_000, 100, [[1, 10]]))
  expect(refusal(guard.accept(sample(2_000, 89, [[1, 10]])))).toMatch(/grid_energy_wh went from 100 .* to 89/)
})

test('a connector register lower than the last accepted one is refused', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(
    sample(1_000, 100, [
      [1, 10],
      [2, 50],
    ]),
  )
  expect(
    refusal(
      guard.accept(
        sample(2_000, 200, [
          [1, 20],
          [2, 39],
        ]),
      ),
    ),
  ).toMatch(/connector 2 energy_wh/)
})

test('a dip within rounding passes: the same reading at another resolution', () => {
  // evmon's first start: the past over MQTT (Wh, 3 decimals), then the station as an OCPP 1.6 charger
  // (kWh, 4 decimals): 524,128.1036 Wh is 524128.104 on one path and 524.1281 kWh on the other.
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(1_000, 1_137_243.547, [[2, 524_128.104]], 'kc-fast-1'))
  expect(guard.accept(sample(2_000, 1_137_243.547, [[2, 524.1281 * 1000]], 'kc-fast-1'))).toEqual(OK)
  expect(
    guard.accept(sample(3_000, 1_137_243.547 - REGISTER_ROUNDING_WH, [[2, 524_128.1]], 'kc-fast-1')),
  ).toEqual(OK)
  expect(
    refusal(
      guard.accept(sample(4_000, 1_137_243.547 - REGISTER_ROUNDING_WH - 0.01, [[2, 524_128.1]], 'kc-fast-1')),
    ),
  ).toMatch(/grid_energy_wh went from 1137243.547/)
})

test('dips within rounding in a row cannot walk a register down', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(1_000, 1_000, [[1, 1_000]]))
  expect(guard.accept(sample(2_000, 1_000, [[1, 994]]))).toEqual(OK)
  // 988 is 6 Wh below the last reading but 12 Wh below the highest: the guard remembers the highest.
  expect(refusal(guard.accept(sample(3_000, 1_000, [[1, 988]])))).toMatch(
    /connector 1 energy_wh went from 1000 /,
  )
})

test('a refused sample leaves the remembered values untouched', () => {
  const guard = new RegisterGuard(GAP_MS)
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
  ).toMatchObject({ ok: false })
  expect(
    guard.accept(
      sample(3_000, 150, [
        [1, 15],
        [2, 50],
      ]),
    ),
  ).toEqual(OK)
})

test('an older sample arriving late is let through and does not move the reference', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(5_000, 500, [[1, 50]]))
  expect(guard.accept(sample(4_000, 400, [[1, 40]]))).toEqual(OK)
  expect(guard.accept(sample(6_000, 450, [[1, 45]]))).toMatchObject({ ok: false })
})

test('stations and connectors are tracked separately', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(1_000, 1_000, [[1, 500]], 'zn-super'))
  expect(guard.accept(sample(2_000, 10, [[1, 5]], 'zn-fast'))).toEqual(OK)
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
  ).toEqual(OK)
})

test('messages without registers always pass', () => {
  const guard = new RegisterGuard(GAP_MS)
  const online: DecodedMessage = {
    kind: 'online',
    site: 'beibei',
    station: 'zn-super',
    payload: { online: true },
  }
  expect(guard.accept(online)).toEqual(OK)
})

test('a register drop together with a restarted seq is accepted as a reset of every register that fell', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(
    sample(
      10_000,
      5_000,
      [
        [1, 900],
        [2, 50],
      ],
      'zn-super',
      4_321,
    ),
  )
  const verdict = guard.accept(
    sample(
      11_000,
      10,
      [
        [1, 0],
        [2, 50],
      ],
      'zn-super',
      0,
    ),
  )
  expect(verdict).toEqual({
    ok: true,
    resets: [
      { from: 5_000, to: 10, reason: 'grid_energy_wh reset from 5000 to 10: seq restarted (4321 → 0)' },
      {
        connector: 1,
        from: 900,
        to: 0,
        reason: 'connector 1 energy_wh reset from 900 to 0: seq restarted (4321 → 0)',
      },
    ],
  })
  // The new values are the reference from now on.
  expect(
    guard.accept(
      sample(
        12_000,
        20,
        [
          [1, 5],
          [2, 51],
        ],
        'zn-super',
        1,
      ),
    ),
  ).toEqual(OK)
  expect(
    guard.accept(
      sample(
        13_000,
        5,
        [
          [1, 5],
          [2, 51],
        ],
        'zn-super',
        2,
      ),
    ),
  ).toMatchObject({ ok: false })
})

test('a register drop after a gap of resetGapMs is a reset, a shorter gap is not', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(1_000, 5_000, [[1, 900]]))
  expect(guard.accept(sample(1_000 + GAP_MS - 1, 0, [[1, 0]]))).toMatchObject({ ok: false })
  const verdict = guard.accept(sample(1_000 + GAP_MS, 0, [[1, 0]]))
  expect(verdict.ok && verdict.resets.map((r) => r.reason)).toEqual([
    'grid_energy_wh reset from 5000 to 0: no sample for 300 s',
    'connector 1 energy_wh reset from 900 to 0: no sample for 300 s',
  ])
})

test('a redelivered sample from before a reset passes without resetting again', () => {
  const guard = new RegisterGuard(GAP_MS)
  guard.accept(sample(10_000, 5_000, [[1, 900]], 'zn-super', 100))
  guard.accept(sample(11_000, 10, [[1, 0]], 'zn-super', 0))
  expect(guard.accept(sample(10_000, 5_000, [[1, 900]], 'zn-super', 100))).toEqual(OK)
  expect(guard.accept(sample(12_000, 20, [[1, 1]], 'zn-super', 1))).toEqual(OK)
})

test('a sample without registers passes, and a register that appears later is judged from then on', () => {
  const guard = new RegisterGuard(GAP_MS)
  const bare = (ts: number, energy?: number): DecodedMessage => ({
    kind: 'telemetry',
    site: 'beibei',
    station: 'cs-1',
    payload: {
      v: 1,
      ts,
      seq: ts,
      meter: {},
      connectors: [{ id: 1, status: 'Charging', ...(energy !== undefined && { energy_wh: energy }) }],
    },
  })
  expect(guard.accept(bare(1_000))).toEqual(OK)
  expect(guard.accept(bare(2_000, 500))).toEqual(OK)
  expect(guard.accept(bare(3_000))).toEqual(OK)
  expect(refusal(guard.accept(bare(4_000, 400)))).toContain('connector 1 energy_wh went from 500')
})
