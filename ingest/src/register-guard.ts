import type { DecodedMessage } from '@evmon/contracts'

interface Reading {
  ts: number
  value: number
}

/** Why a telemetry message was refused, in the words of the dead-letter file. */
export interface RegisterViolation {
  detail: string
}

/**
 * Keeps the last accepted value of every cumulative energy register (connector `energy_wh`, station
 * `grid_energy_wh`) and refuses a telemetry sample whose register is lower than one accepted at an
 * earlier or equal time. Efficiency and energy figures are differences of these registers, so one
 * backwards sample would show up as negative energy.
 *
 * Only samples newer than the last accepted one are judged: an older sample (a QoS 1 redelivery, a
 * late message) cannot be checked against a single remembered value and is let through unchanged.
 * State lives in memory, one entry per station and connector, and starts empty at each start.
 */
export class RegisterGuard {
  private readonly last = new Map<string, Reading>()

  /**
   * Checks every register of a message and, when none went backwards, remembers the new values.
   * Messages without registers always pass.
   */
  accept(message: DecodedMessage): RegisterViolation | undefined {
    if (message.kind !== 'telemetry') return undefined
    const { ts, meter, connectors } = message.payload
    const base = `${message.site}/${message.station}`
    const readings: [string, string, number][] = [[base, 'grid_energy_wh', meter.grid_energy_wh]]
    for (const c of connectors) readings.push([`${base}/${c.id}`, `connector ${c.id} energy_wh`, c.energy_wh])

    for (const [key, what, value] of readings) {
      const previous = this.last.get(key)
      if (previous && ts >= previous.ts && value < previous.value) {
        return { detail: `${what} went from ${previous.value} (ts ${previous.ts}) to ${value} (ts ${ts})` }
      }
    }
    for (const [key, , value] of readings) {
      const previous = this.last.get(key)
      if (!previous || ts >= previous.ts) this.last.set(key, { ts, value })
    }
    return undefined
  }
}
