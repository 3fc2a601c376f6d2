import type { StopReason } from '@evmon/contracts'

/** A finished charging session as the operator's billing would see it. */
export interface SessionRecord {
  station: string
  connector: number
  session: string
  vehicle: string
  startedAtMs: number
  stoppedAtMs: number
  energyWh: number
  socStartPct?: number
  socEndPct?: number
  peakPowerW: number
  /** OCPP 1.6 stop reason. */
  reason: StopReason
  /** What the driver pays: time-of-use energy price plus service fee, in `currency`. */
  cost: number
  currency: string
}

/** Running totals of the site's sessions; they survive a restart through the state file. */
export interface LedgerTotals {
  sessions: number
  energyWh: number
  revenue: number
  /** Drivers whose car never took energy: the start failed and the retry did not rescue it. */
  failedStarts: number
  /** Sessions the charger ended with a fault. */
  interruptedSessions: number
}

/**
 * The site's session book: totals for metrics and the most recent sessions (with their cost, also on
 * each `stopped` event) for the control API.
 */
export class SessionLedger {
  readonly totals: LedgerTotals = {
    sessions: 0,
    energyWh: 0,
    revenue: 0,
    failedStarts: 0,
    interruptedSessions: 0,
  }
  private readonly recentSessions: SessionRecord[] = []

  constructor(private readonly keepRecent: number) {}

  /** The most recent sessions, newest last. */
  get recent(): readonly SessionRecord[] {
    return this.recentSessions
  }

  record(session: SessionRecord, interrupted: boolean): void {
    this.totals.sessions++
    this.totals.energyWh += session.energyWh
    this.totals.revenue += session.cost
    if (interrupted) this.totals.interruptedSessions++
    this.recentSessions.push(session)
    if (this.recentSessions.length > this.keepRecent) this.recentSessions.shift()
  }

  failedStart(): void {
    this.totals.failedStarts++
  }

  restore(totals: LedgerTotals): void {
    Object.assign(this.totals, totals)
  }
}
