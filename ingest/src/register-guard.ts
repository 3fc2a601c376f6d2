import { registerReference, registerWentBack, type DecodedMessage } from '@evmon/contracts'

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
 * Keeps the highest accepted value of every cumulative energy register (connector `energy_wh`, station
 * `grid_energy_wh`) and refuses a telemetry sample whose register is lower than one accepted at an
 * earlier or equal time. Efficiency and energy figures are differences of these registers, so one
 * backwards sample would show up as negative energy. A dip within rounding (`registerWentBack`: the same
 * reading at another resolution) passes and leaves the remembered value where it was, so that dips in a
 * row cannot walk a register down.
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
  // site → station → registers. Nested maps and readings updated in place: this runs for every
  // telemetry message, and per-message keys and objects showed up in ingest's garbage collection.
  private readonly sites = new Map<string, Map<string, StationRegisters>>()

  constructor(private readonly resetGapMs: number) {}

  /** Checks every register of a message and, when it is accepted, remembers the new values. */
  accept(message: DecodedMessage): RegisterVerdict {
    if (message.kind !== 'telemetry') return OK
    const { ts, seq, meter, connectors } = message.payload
    let site = this.sites.get(message.site)
    if (!site) this.sites.set(message.site, (site = new Map()))
    const station = site.get(message.station)
    if (!station) {
      const readings = new Map<number, Reading>()
      for (const c of connectors)
        if (c.energy_wh !== undefined) readings.set(c.id, { ts, value: c.energy_wh })
      const grid = meter.grid_energy_wh === undefined ? undefined : { ts, value: meter.grid_energy_wh }
      site.set(message.station, { ts, seq, grid, connectors: readings })
      return OK
    }
    let resetReason: string | undefined
    if (ts > station.ts) {
      if (seq < station.seq) resetReason = `seq restarted (${station.seq} → ${seq})`
      else if (ts - station.ts >= this.resetGapMs)
        resetReason = `no sample for ${Math.round((ts - station.ts) / 1000)} s`
    }
    const resets: RegisterReset[] = []
    let refused = this.judge(station.grid, undefined, meter.grid_energy_wh, ts, resetReason, resets)
    for (let i = 0; i < connectors.length && refused === undefined; i++) {
      const c = connectors[i] as (typeof connectors)[number]
      refused = this.judge(station.connectors.get(c.id), c.id, c.energy_wh, ts, resetReason, resets)
    }
    if (refused !== undefined) return { ok: false, detail: refused }
    if (meter.grid_energy_wh !== undefined) {
      if (station.grid) remember(station.grid, ts, meter.grid_energy_wh)
      else station.grid = { ts, value: meter.grid_energy_wh }
    }
    for (const c of connectors) {
      if (c.energy_wh === undefined) continue
      const reading = station.connectors.get(c.id)
      if (reading) remember(reading, ts, c.energy_wh)
      else station.connectors.set(c.id, { ts, value: c.energy_wh })
    }
    if (ts >= station.ts) {
      station.ts = ts
      station.seq = seq
    }
    return resets.length === 0 ? OK : { ok: true, resets }
  }

  /**
   * A register lower than the last accepted one at an earlier or equal time: the refusal's detail
   * without a reset reason, else a reset added to `resets`.
   */
  private judge(
    previous: Reading | undefined,
    connector: number | undefined,
    value: number | undefined,
    ts: number,
    resetReason: string | undefined,
    resets: RegisterReset[],
  ): string | undefined {
    // A register the sample does not report cannot have gone backwards.
    if (!previous || value === undefined || ts < previous.ts || !registerWentBack(previous.value, value))
      return undefined
    const what = connector === undefined ? 'grid_energy_wh' : `connector ${connector} energy_wh`
    if (resetReason === undefined)
      return `${what} went from ${previous.value} (ts ${previous.ts}) to ${value} (ts ${ts})`
    resets.push({
      ...(connector === undefined ? {} : { connector }),
      from: previous.value,
      to: value,
      reason: `${what} reset from ${previous.value} to ${value}: ${resetReason}`,
    })
    return undefined
  }
}

interface StationRegisters {
  /** Time and sequence number of the newest accepted sample. */
  ts: number
  seq: number
  /** Absent until the station reports a grid register (an OCPP charger may never). */
  grid: Reading | undefined
  connectors: Map<number, Reading>
}

/** An accepted newer reading becomes the reference (`registerReference`: a dip within rounding keeps the old). */
function remember(reading: Reading, ts: number, value: number): void {
  if (ts < reading.ts) return
  reading.ts = ts
  reading.value = registerReference(reading.value, value)
}
