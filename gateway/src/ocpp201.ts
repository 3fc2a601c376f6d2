import type { ConnectorStatus, ErrorCode } from '@evmon/contracts'
import {
  acceptBoot,
  applyMeterValues,
  eventTime,
  idTagStatus,
  keepEvent,
  rejectValue,
  sessionEnergy,
  sessionIdFor,
  type Handlers,
  type Link,
  type StationEvents,
} from './link.ts'
import type { Reading, SampledValue } from './meter.ts'

// Payload shapes as OCPP 2.0.1 defines them; ocpp-rpc's strict mode has checked them against the
// official schemas before a handler runs.
interface SampledValue201 {
  value: number
  measurand?: string
  phase?: string
  context?: string
  location?: string
  unitOfMeasure?: { unit?: string; multiplier?: number }
}
interface MeterValue201 {
  timestamp: string
  sampledValue: SampledValue201[]
}
interface TransactionEvent {
  eventType: 'Started' | 'Updated' | 'Ended'
  timestamp: string
  triggerReason: string
  seqNo: number
  transactionInfo: { transactionId: string; chargingState?: string; stoppedReason?: string }
  evse?: { id: number; connectorId?: number }
  idToken?: { idToken: string; type: string }
  meterValue?: MeterValue201[]
}
interface EventData {
  eventId: number
  timestamp: string
  trigger: 'Alerting' | 'Delta' | 'Periodic'
  actualValue: string
  techCode?: string
  techInfo?: string
  cleared?: boolean
  component: { name: string; instance?: string; evse?: { id: number; connectorId?: number } }
  variable: { name: string; instance?: string }
}

const toSampled = (mv: MeterValue201[]) =>
  mv.map((m) => ({
    timestamp: m.timestamp,
    sampledValue: m.sampledValue.map((s): SampledValue => ({
      value: s.value,
      ...(s.measurand && { measurand: s.measurand }),
      ...(s.phase && { phase: s.phase }),
      ...(s.context && { context: s.context }),
      ...(s.location && { location: s.location }),
      ...(s.unitOfMeasure?.unit && { unit: s.unitOfMeasure.unit }),
      ...(s.unitOfMeasure?.multiplier !== undefined && { multiplier: s.unitOfMeasure.multiplier }),
    })),
  }))

// 2.0.1 connector statuses are coarser than the contract's (1.6's): Occupied is split by the open
// transaction's chargingState; an Occupied connector is Preparing before its transaction and
// Finishing after it ended.
const CHARGING_STATES: Record<string, ConnectorStatus> = {
  Charging: 'Charging',
  SuspendedEV: 'SuspendedEV',
  SuspendedEVSE: 'SuspendedEVSE',
  EVConnected: 'Preparing',
  Idle: 'Preparing',
}

// Fault components and variables with a 1.6 error code of their own; anything else is OtherError.
const ERROR_CODES: Record<string, ErrorCode> = {
  temperature: 'HighTemperature',
  overheat: 'HighTemperature',
  overcurrent: 'OverCurrentFailure',
  overvoltage: 'OverVoltage',
  undervoltage: 'UnderVoltage',
  groundfault: 'GroundFailure',
  ground: 'GroundFailure',
  contactor: 'PowerSwitchFailure',
  powermeter: 'PowerMeterFailure',
  lock: 'ConnectorLockFailure',
  reader: 'ReaderFailure',
}

function errorCodeFor(e: EventData): ErrorCode {
  const words = `${e.component.name} ${e.variable.name}`.toLowerCase()
  for (const [word, code] of Object.entries(ERROR_CODES)) if (words.includes(word)) return code
  return 'OtherError'
}

interface ReportData {
  component: { name: string; evse?: { id: number } }
  variable: { name: string }
  variableCharacteristics?: { unit?: string; maxLimit?: number }
}

interface EvseState {
  connectorStatus?: 'Available' | 'Occupied' | 'Reserved' | 'Unavailable' | 'Faulted'
  chargingState?: string
  /** OCPP transaction id open on the EVSE. */
  transaction?: string
  /** A transaction ended while the connector was still occupied: the car is yet to leave. */
  ended?: boolean
  /** A fault or threshold NotifyEvent reported and not cleared. */
  fault?: { errorCode: ErrorCode; vendorError: string; problem: boolean }
}

/** Central-system answers to an OCPP 2.0.1 charging station, and what they publish. EVSE ids are the contract's connector ids. */
export function ocpp201Handlers(link: Link, events: StationEvents): Handlers {
  const { station, state, config, key } = link
  const evses = new Map<number, EvseState>()
  const evse = (id: number) => {
    const known = evses.get(id)
    if (known) return known
    const created: EvseState = {}
    evses.set(id, created)
    return created
  }
  // Transactions open before this connection (a restart, a reconnect) keep their EVSE.
  for (const [id, tx] of Object.entries(state.transactions(key))) evse(tx.connector).transaction = id

  /** Publishes the contract status an EVSE has now (Station publishes only changes). */
  const publishStatus = (id: number, ts: number) => {
    const e = evse(id)
    if (!e.connectorStatus) return
    let status: ConnectorStatus
    if (e.connectorStatus !== 'Occupied') status = e.connectorStatus
    else if (e.transaction) status = CHARGING_STATES[e.chargingState ?? 'EVConnected'] ?? 'Preparing'
    else status = e.ended ? 'Finishing' : 'Preparing'
    if (e.connectorStatus === 'Available' && e.transaction) status = 'Preparing'
    if (e.fault?.problem) status = 'Faulted'
    const added = station.setStatus(
      id,
      {
        status,
        errorCode: e.fault?.errorCode ?? 'NoError',
        ...(e.fault && { vendorError: e.fault.vendorError }),
      },
      ts,
    )
    if (added) setImmediate(events.metaChanged)
  }

  return {
    BootNotification(
      p: {
        chargingStation: {
          model: string
          vendorName: string
          serialNumber?: string
          firmwareVersion?: string
        }
      },
      answer?: { status: string },
    ) {
      if (answer && answer.status !== 'Accepted') return {}
      const cs = p.chargingStation
      return acceptBoot(link, events, {
        protocol: 'ocpp2.0.1',
        vendor: cs.vendorName,
        model: cs.model,
        serialNumber: cs.serialNumber,
        firmwareVersion: cs.firmwareVersion,
      })
    },
    Heartbeat: () => ({ currentTime: new Date().toISOString() }),
    StatusNotification(p: {
      timestamp: string
      connectorStatus: EvseState['connectorStatus']
      evseId: number
    }) {
      const ts = eventTime(link, p.timestamp, Date.now())
      if (p.evseId === 0) {
        // The station as a whole, like 1.6's connector 0.
        if (p.connectorStatus)
          station.setStatus(
            0,
            {
              status: p.connectorStatus === 'Occupied' ? 'Available' : p.connectorStatus,
              errorCode: 'NoError',
            },
            ts,
          )
        return {}
      }
      const e = evse(p.evseId)
      e.connectorStatus = p.connectorStatus
      if (p.connectorStatus !== 'Occupied') delete e.ended
      publishStatus(p.evseId, ts)
      return {}
    },
    MeterValues(p: { evseId: number; meterValue: MeterValue201[] }) {
      applyMeterValues(link, p.evseId, toSampled(p.meterValue), Date.now())
      return {}
    },
    Authorize: (p: { idToken: { idToken: string } }) => ({
      idTokenInfo: { status: idTagStatus(config.authorize, p.idToken.idToken) },
    }),
    TransactionEvent(p: TransactionEvent, upstream?: { idTokenInfo?: { status: string } }) {
      const now = Date.now()
      const ts = eventTime(link, p.timestamp, now)
      const id = p.transactionInfo.transactionId
      const known = state.transaction(key, id)
      const connector = known?.connector ?? p.evse?.id
      const tokenStatus = upstream
        ? upstream.idTokenInfo?.status
        : p.idToken && idTagStatus(config.authorize, p.idToken.idToken)
      const answer = tokenStatus ? { idTokenInfo: { status: tokenStatus } } : {}
      if (connector === undefined || connector < 1) {
        // An Updated or Ended event for a transaction we never saw start, without an EVSE to place it.
        link.metrics.inc('evmon_gateway_unknown_transactions_total')
        link.log(`${key}: TransactionEvent ${p.eventType} for unknown transaction ${id}`)
        return answer
      }
      const readings: Reading[] = p.meterValue
        ? applyMeterValues(link, connector, toSampled(p.meterValue), now)
        : []
      const register = (context: string): number | undefined =>
        p.meterValue
          ?.map((mv, i) => ({ mv, r: readings[i] }))
          .find(({ mv }) => mv.sampledValue.some((s) => s.context === context))?.r?.values.energy_wh
      const e = evse(connector)
      if (p.transactionInfo.chargingState) e.chargingState = p.transactionInfo.chargingState
      if (!known && p.eventType !== 'Started') {
        link.metrics.inc('evmon_gateway_unknown_transactions_total')
        link.log(`${key}: TransactionEvent ${p.eventType} for unknown transaction ${id}`)
      }
      if (!known && p.eventType === 'Started') {
        const accepted = tokenStatus === undefined || tokenStatus === 'Accepted'
        const session = sessionIdFor(station.station, id)
        const startWh = register('Transaction.Begin') ?? readings[0]?.values.energy_wh
        state.openTransaction(key, id, {
          connector,
          session,
          startedAt: ts,
          ...(startWh !== undefined && { meterStartWh: startWh }),
          accepted,
        })
        e.transaction = id
        delete e.ended
        if (accepted) station.sessionStarted(connector, session, ts)
      }
      if (known && p.eventType === 'Ended') {
        state.closeTransaction(key, id)
        if (e.transaction === id) delete e.transaction
        delete e.chargingState
        e.ended = true
        if (known.accepted) {
          const endWh = register('Transaction.End') ?? station.reading(connector)?.values.energy_wh
          station.sessionStopped(connector, known.session, ts, {
            socSince: Math.max(known.startedAt, ts - config.staleAfterMs),
            ...sessionEnergy(link, known.meterStartWh, endWh),
            // OCPP 2.0.1: an absent stoppedReason means Local.
            reason: p.transactionInfo.stoppedReason ?? 'Local',
          })
        }
      }
      publishStatus(connector, ts)
      return answer
    },
    NotifyEvent(p: { eventData: EventData[] }) {
      const now = Date.now()
      for (const e of p.eventData) {
        // Faults (a Problem variable) and thresholds crossed (Alerting monitors) are status events;
        // periodic and delta reports are values, not conditions.
        const problem = e.variable.name === 'Problem'
        if (!problem && e.trigger !== 'Alerting') continue
        const ts = eventTime(link, e.timestamp, now)
        const where = `${e.component.name}${e.component.instance ? `/${e.component.instance}` : ''}`
        const what = `${e.variable.name}${e.variable.instance ? `/${e.variable.instance}` : ''}`
        const vendorError = `${where}.${what}=${e.actualValue}${e.techCode ? ` (${e.techCode})` : ''}`
        const cleared = e.cleared === true || (problem && e.actualValue.toLowerCase() === 'false')
        const targets = e.component.evse ? [e.component.evse.id] : [...evses.keys()]
        for (const id of targets) {
          if (id < 1) continue
          evse(id).fault = cleared ? undefined : { errorCode: errorCodeFor(e), vendorError, problem }
          publishStatus(id, ts)
        }
      }
      return {}
    },
    SecurityEventNotification: (p: { type: string; timestamp: string; techInfo?: string }) =>
      keepEvent(
        link,
        'SecurityEventNotification',
        `security event ${p.type} at ${p.timestamp}${p.techInfo ? `: ${p.techInfo}` : ''}`,
      ),
    FirmwareStatusNotification: (p: { status: string; requestId?: number }) =>
      keepEvent(
        link,
        'FirmwareStatusNotification',
        `firmware ${p.status}${p.requestId === undefined ? '' : ` (request ${p.requestId})`}`,
      ),
    LogStatusNotification: (p: { status: string; requestId?: number }) =>
      keepEvent(
        link,
        'LogStatusNotification',
        `log upload ${p.status}${p.requestId === undefined ? '' : ` (request ${p.requestId})`}`,
      ),
    NotifyReport(p: { reportData?: ReportData[] }) {
      // The one rating OCPP 2.0.1 reports: an EVSE's Power maxLimit (the gateway asks with GetReport
      // after boot; an upstream may ask in proxy mode). Anything else in a report is not the contract's.
      let changed = false
      for (const d of p.reportData ?? []) {
        const evseId = d.component.evse?.id
        const max = d.variableCharacteristics?.maxLimit
        if (d.component.name.toLowerCase() !== 'evse' || d.variable.name.toLowerCase() !== 'power') continue
        if (evseId === undefined || evseId < 1 || max === undefined) continue
        const unit = d.variableCharacteristics?.unit ?? 'W'
        const watts = unit === 'kW' ? max * 1000 : unit === 'W' ? max : undefined
        if (watts === undefined || watts < 0 || watts > 2e6) {
          rejectValue(
            link,
            watts === undefined ? 'unit' : 'absurd',
            `EVSE ${evseId} Power maxLimit ${max} ${unit}`,
          )
          continue
        }
        changed = station.setRatedPower(evseId, watts) || changed
      }
      if (changed) setImmediate(events.metaChanged)
      return {}
    },
    DataTransfer: () => ({ status: 'UnknownVendorId' }),
  }
}
