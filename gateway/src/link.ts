import { type OcppProtocol } from '@evmon/contracts'
import { TokenBucket } from '@evmon/runtime'
import ocppRpc, { createRPCError, type RPCClient } from 'ocpp-rpc'
import type { AuthorizePolicy, GatewayConfig } from './config.ts'
import {
  parseTimestamp,
  readSampledValues,
  type Reading,
  type RejectReason,
  type SampledValue,
} from './meter.ts'
import type { Metrics } from './metrics.ts'
import type { BootRecord, GatewayState } from './state.ts'
import type { Station } from './station.ts'

// ocpp-rpc spreads NOREPLY into its CommonJS exports, where Node's ESM import cannot find it by name.
const { NOREPLY } = ocppRpc

/** Everything a charger's call handlers need: its station, the gateway's state, config and counters. */
export interface Link {
  key: string
  protocol: OcppProtocol
  station: Station
  state: GatewayState
  config: Readonly<GatewayConfig>
  metrics: Metrics
  log: (line: string) => void
  /** Publishes the station's telemetry sample now, and starts its next period from here. */
  sampleNow(): void
  /** True while the broker backlog is full (ContractOut.full): charger calls are then held back. */
  backlogFull(): boolean
}

/** What handlers tell the connection about: a boot accepted, and anything that changes the station's meta. */
export interface StationEvents {
  booted(): void
  metaChanged(): void
}

/**
 * Handles one action: with no `answer`, as the central system (its return value is the answer); with
 * `answer`, following a call another central system answered (proxy mode; the return value is unused).
 */
export type Handler = (params: never, answer?: never) => Record<string, unknown>
export type Handlers = Record<string, Handler>

/**
 * Registers call handlers with the checks every call passes first: room in the broker backlog, the
 * charger's call rate, and (for anything but BootNotification) a BootNotification accepted before —
 * OCPP lets a charger that has booted once reconnect without booting again, so the boot record
 * survives reconnects and restarts. Actions without a handler are answered NotImplemented by ocpp-rpc;
 * schema failures are answered by its strict mode before a handler runs.
 */
export function register(client: RPCClient, link: Link, handlers: Handlers): void {
  const bucket = new TokenBucket(link.config.callRatePerS, link.config.callBurst, Date.now())
  for (const [action, handler] of Object.entries(handlers)) {
    client.handle(action, async ({ params }) => {
      link.metrics.inc('evmon_gateway_calls_total', { action })
      // The broker backlog is full: this call is not answered and the connection is closed, so the
      // charger keeps the message queued and sends it again when it reconnects (OCPP chargers queue
      // transaction messages the central system did not answer). A Heartbeat publishes nothing.
      if (action !== 'Heartbeat' && link.backlogFull()) {
        link.metrics.inc('evmon_gateway_held_back_total')
        link.log(`${link.key}: ${action} not answered, the broker backlog is full; closing (1013)`)
        // ocpp-rpc closes only once no answer is pending, so the close follows the no-answer.
        setImmediate(() => void client.close({ code: 1013, reason: 'broker unavailable, try again later' }))
        // ocpp-rpc's typings declare NOREPLY as an object; at run time it is the symbol it compares.
        return NOREPLY as unknown as Record<string, never>
      }
      if (!bucket.take(Date.now())) {
        link.metrics.inc('evmon_gateway_rate_limited_total')
        throw createRPCError('GenericError', `more than ${link.config.callRatePerS} calls/s: slow down`)
      }
      if (action !== 'BootNotification' && !link.state.boot(link.key)) {
        link.metrics.inc('evmon_gateway_before_boot_total')
        link.log(`${link.key}: ${action} before an accepted BootNotification`)
        throw createRPCError('SecurityError', 'send BootNotification first')
      }
      return handler(params as never)
    })
  }
}

/**
 * Records an accepted BootNotification (what the charger says of itself, for the meta) and gives the
 * central-system answer: Accepted, with the configured heartbeat interval.
 */
export function acceptBoot(
  link: Link,
  events: StationEvents,
  boot: Omit<BootRecord, 'ts' | 'serialNumber' | 'firmwareVersion'> & {
    serialNumber?: string | undefined
    firmwareVersion?: string | undefined
  },
): Record<string, unknown> {
  const { serialNumber, firmwareVersion, ...rest } = boot
  link.state.setBoot(link.key, {
    ...rest,
    ...(serialNumber && { serialNumber }),
    ...(firmwareVersion && { firmwareVersion }),
    ts: Date.now(),
  })
  setImmediate(events.booted)
  return {
    status: 'Accepted',
    currentTime: new Date().toISOString(),
    interval: link.config.heartbeatIntervalS,
  }
}

/**
 * A notification OCPP defines but the contract has no message for (firmware, diagnostics, log upload,
 * security events): answered, counted by type and logged, so an engineer finds it.
 */
export function keepEvent(link: Link, type: string, detail: string): Record<string, never> {
  link.metrics.inc('evmon_gateway_events_total', { type })
  link.log(`${link.key}: ${detail}`)
  return {}
}

/**
 * Counts a value or time stamp that is not used, and logs it unless it is only a measurand the contract
 * has no field for (a charger configured to sample Frequency would otherwise log it every few seconds).
 */
export function rejectValue(link: Link, reason: RejectReason, detail: string): void {
  link.metrics.inc('evmon_gateway_values_rejected_total', { reason })
  if (reason !== 'not_in_contract') link.log(`${link.key}: ${reason}: ${detail}`)
}

/**
 * The time of an event the charger reports: its own time stamp when it is plausible, else the time it
 * arrived (a charger with a lost clock still starts and stops sessions), counted and logged.
 */
export function eventTime(link: Link, timestamp: string | undefined, now: number): number {
  if (timestamp === undefined) return now
  const ts = parseTimestamp(timestamp, now)
  if (typeof ts === 'number') return ts
  rejectValue(link, ts, `time stamp ${timestamp.slice(0, 40)}; using the time of arrival`)
  return now
}

/** Meter values of one connector: readings with plausible time stamps, newer ones applied to the station. */
export function applyMeterValues(
  link: Link,
  connector: number,
  meterValues: readonly { timestamp: string; sampledValue: readonly SampledValue[] }[],
  now: number,
): Reading[] {
  const readings: Reading[] = []
  let fresh = false
  for (const mv of meterValues) {
    const ts = parseTimestamp(mv.timestamp, now)
    if (typeof ts !== 'number') {
      rejectValue(link, ts, `meter value at ${mv.timestamp.slice(0, 40)}`)
      continue
    }
    const reading = readSampledValues(ts, mv.sampledValue, (reason, detail) =>
      rejectValue(link, reason, detail),
    )
    readings.push(reading)
    if (!link.station.addReading(connector, reading)) {
      // Older than what the station holds (queued while offline): kept for the session's energy only.
      link.metrics.inc('evmon_gateway_values_rejected_total', { reason: 'late' })
    } else if (
      Object.keys(reading.values).length > 0 &&
      now - reading.ts < 2 * link.config.sampleIntervalMs
    ) {
      fresh = true
    }
  }
  // A reading taken just now goes out at once rather than up to a sample period later; one that was
  // queued (older) waits for the next period, so a flushed queue does not burst samples.
  if (fresh) link.sampleNow()
  return readings
}

/** A register value the charger gives outside meter values (1.6 meterStart/meterStop), checked like them. */
export function registerReading(link: Link, ts: number, wh: number): Reading {
  return readSampledValues(ts, [{ value: wh, unit: 'Wh' }], (reason, detail) =>
    rejectValue(link, reason, detail),
  )
}

// The contract's bound on one session's energy (contracts/src/schemas.ts SessionEvent.energy_wh).
const MAX_SESSION_WH = 1e9

/** A session's energy from its start and end registers, when both are known and the difference is sane. */
export function sessionEnergy(
  link: Link,
  startWh: number | undefined,
  endWh: number | undefined,
): { energyWh?: number } {
  if (startWh === undefined || endWh === undefined) return {}
  const energyWh = endWh - startWh
  if (energyWh < 0 || energyWh > MAX_SESSION_WH) {
    rejectValue(link, 'absurd', `session energy ${endWh} - ${startWh} Wh`)
    return {}
  }
  return { energyWh }
}

/** The central-system answer to an id tag. */
export function idTagStatus(policy: AuthorizePolicy, idTag: string): 'Accepted' | 'Invalid' {
  return policy.kind === 'accept-all' || policy.idTags.has(idTag) ? 'Accepted' : 'Invalid'
}

// Contract session ids allow fewer characters than OCPP 2.0.1 transaction ids (any 36 characters).
const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/

/** The contract session id of a transaction: `{station}-{1.6 id}`, or the 2.0.1 id when it fits. */
export function sessionIdFor(station: string, transactionId: string | number): string {
  if (typeof transactionId === 'number') return `${station}-${transactionId}`
  if (SESSION_ID.test(transactionId)) return transactionId
  return `${station}-${Buffer.from(transactionId).toString('hex').slice(0, 72)}`
}
