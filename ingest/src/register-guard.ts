import type { DecodedMessage } from '@evmon/contracts'

interface Reading {
  ts: number
  value: number
}

/** An energy register accepted as restarted; `connector` is absent for the station's grid register. */
export interface RegisterReset {
  connector?: number
  from: number
  to: number
  /** Why the drop counts as a restart, in words for the `event` point. */
  reason: string
}

export type RegisterVerdict = { ok: true; resets: RegisterReset[] } | { ok: false; detail: string }

const OK: RegisterVerdict = { ok: true, resets: [] }

/**
 * Keeps the last accepted value of every cumulative energy register (connector `energy_wh`, station
 * `grid_energy_wh`) and refuses a telemetry sample whose register is lower than one accepted at an
 * earlier or equal time. Efficiency and energy figures are differences of these registers, so one
 * backwards sample would show up as negative energy.
 *
 * A register that restarts (a station or simulator reboot, a meter swap) must not lock the station
 * out forever, so a drop is accepted as a reset, and reported for an `event` point, when
 * - the station's `seq` went backwards too: the sequence restarted, so the station did; or
 * - no sample was accepted from the station for `resetGapMs`: it was away, and whatever happened
 *   meanwhile (a swapped meter) cannot be judged against the old reading.
 * A drop within an unbroken sequence is a corrupt sample and is refused.
 *
 * Only samples newer than the last accepted one are judged: an older sample (a QoS 1 redelivery, a
 * late message) cannot be checked against a single remembered value and is let through unchanged.
 * State lives in memory, one entry per station and connector, and starts empty at each start.
 */
export class RegisterGuard {
  private readonly last = new Map<string, Reading>()
  private readonly stations = new Map<string, { ts: number; seq: number }>()

  constructor(private readonly resetGapMs: number) {}

  /** Checks every register of a message and, when it is accepted, remembers the new values. */
  accept(message: DecodedMessage): RegisterVerdict {
    if (message.kind !== 'telemetry') return OK
    const { ts, seq, meter, connectors } = message.payload
    const base = `${message.site}/${message.station}`
    const readings: [key: string, connector: number | undefined, value: number][] = [
      [base, undefined, meter.grid_energy_wh],
    ]
    for (const c of connectors) readings.push([`${base}/${c.id}`, c.id, c.energy_wh])

    const station = this.stations.get(base)
    let resetReason: string | undefined
    if (station && ts > station.ts) {
      if (seq < station.seq) resetReason = `seq restarted (${station.seq} → ${seq})`
      else if (ts - station.ts >= this.resetGapMs)
        resetReason = `no sample for ${Math.round((ts - station.ts) / 1000)} s`
    }
    const resets: RegisterReset[] = []
    for (const [key, connector, value] of readings) {
      const previous = this.last.get(key)
      if (!previous || ts < previous.ts || value >= previous.value) continue
      const what = connector === undefined ? 'grid_energy_wh' : `connector ${connector} energy_wh`
      if (resetReason === undefined) {
        return {
          ok: false,
          detail: `${what} went from ${previous.value} (ts ${previous.ts}) to ${value} (ts ${ts})`,
        }
      }
      resets.push({
        ...(connector === undefined ? {} : { connector }),
        from: previous.value,
        to: value,
        reason: `${what} reset from ${previous.value} to ${value}: ${resetReason}`,
      })
    }
    for (const [key, , value] of readings) {
      const previous = this.last.get(key)
      if (!previous || ts >= previous.ts) this.last.set(key, { ts, value })
    }
    if (!station || ts >= station.ts) this.stations.set(base, { ts, seq })
    return resets.length === 0 ? OK : { ok: true, resets }
  }
}
