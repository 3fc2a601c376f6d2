import type { ConnectorStatus, ErrorCode } from '@evmon/contracts'
import {
  acceptBoot,
  applyMeterValues,
  eventTime,
  idTagStatus,
  keepEvent,
  registerReading,
  sessionEnergy,
  sessionIdFor,
  type Handlers,
  type Link,
  type StationEvents,
} from './link.ts'
import type { SampledValue } from './meter.ts'

// Payload shapes as OCPP 1.6J defines them; ocpp-rpc's strict mode has checked them against the
// official schemas before a handler runs, so the handlers read them without checking again.
interface MeterValue16 {
  timestamp: string
  sampledValue: SampledValue[]
}
interface BootNotification {
  chargePointVendor: string
  chargePointModel: string
  chargePointSerialNumber?: string
  chargeBoxSerialNumber?: string
  firmwareVersion?: string
}
interface StatusNotification {
  connectorId: number
  errorCode: ErrorCode
  status: ConnectorStatus
  info?: string
  timestamp?: string
  vendorId?: string
  vendorErrorCode?: string
}
interface StartTransaction {
  connectorId: number
  idTag: string
  meterStart: number
  timestamp: string
}
interface StopTransaction {
  transactionId: number
  meterStop: number
  timestamp: string
  reason?: string
  transactionData?: MeterValue16[]
}

/**
 * What an OCPP 1.6J charger's calls publish, with the central-system answers (or, in proxy mode, the
 * answers the upstream central system gave).
 */
export function ocpp16Handlers(link: Link, events: StationEvents): Handlers {
  const { station, state, config, key } = link
  return {
    BootNotification(p: BootNotification, answer?: { status: string }) {
      if (answer && answer.status !== 'Accepted') return {}
      return acceptBoot(link, events, {
        protocol: 'ocpp1.6',
        vendor: p.chargePointVendor,
        model: p.chargePointModel,
        serialNumber: p.chargeBoxSerialNumber ?? p.chargePointSerialNumber,
        firmwareVersion: p.firmwareVersion,
      })
    },
    Heartbeat: () => ({ currentTime: new Date().toISOString() }),
    StatusNotification(p: StatusNotification) {
      const now = Date.now()
      const vendorError = [p.vendorId, p.vendorErrorCode, p.info].filter(Boolean).join(' ')
      const added = station.setStatus(
        p.connectorId,
        { status: p.status, errorCode: p.errorCode, ...(vendorError && { vendorError }) },
        eventTime(link, p.timestamp, now),
      )
      if (added) setImmediate(events.metaChanged)
      return {}
    },
    MeterValues(p: { connectorId: number; transactionId?: number; meterValue: MeterValue16[] }) {
      if (p.transactionId !== undefined && !state.transaction(key, String(p.transactionId))) {
        link.metrics.inc('evmon_gateway_unknown_transactions_total')
        link.log(`${key}: MeterValues for unknown transaction ${p.transactionId}`)
      }
      applyMeterValues(link, p.connectorId, p.meterValue, Date.now())
      return {}
    },
    Authorize: (p: { idTag: string }) => ({ idTagInfo: { status: idTagStatus(config.authorize, p.idTag) } }),
    StartTransaction(p: StartTransaction, answer?: { transactionId: number; idTagInfo: { status: string } }) {
      const now = Date.now()
      const ts = eventTime(link, p.timestamp, now)
      const status = answer ? answer.idTagInfo.status : idTagStatus(config.authorize, p.idTag)
      const transactionId = answer ? answer.transactionId : state.issueTransactionId()
      const session = sessionIdFor(station.station, transactionId)
      const start = registerReading(link, ts, p.meterStart)
      state.openTransaction(key, String(transactionId), {
        connector: p.connectorId,
        session,
        startedAt: ts,
        ...(start.values.energy_wh !== undefined && { meterStartWh: start.values.energy_wh }),
        accepted: status === 'Accepted',
      })
      station.addReading(p.connectorId, start)
      if (status === 'Accepted') station.sessionStarted(p.connectorId, session, ts)
      return { transactionId, idTagInfo: { status } }
    },
    StopTransaction(p: StopTransaction) {
      const now = Date.now()
      const tx = state.transaction(key, String(p.transactionId))
      if (!tx) {
        // Answered, so the charger does not retry it forever, but nothing is published.
        link.metrics.inc('evmon_gateway_unknown_transactions_total')
        link.log(`${key}: StopTransaction for unknown transaction ${p.transactionId}`)
        return { idTagInfo: { status: 'Invalid' } }
      }
      if (p.transactionData) applyMeterValues(link, tx.connector, p.transactionData, now)
      const ts = eventTime(link, p.timestamp, now)
      const stop = registerReading(link, ts, p.meterStop)
      station.addReading(tx.connector, stop)
      state.closeTransaction(key, String(p.transactionId))
      if (tx.accepted) {
        station.sessionStopped(tx.connector, tx.session, ts, {
          // The end SoC: the stop's own, or the latest during the session still fresh enough to carry.
          socSince: Math.max(tx.startedAt, ts - config.staleAfterMs),
          ...sessionEnergy(link, tx.meterStartWh, stop.values.energy_wh),
          // OCPP 1.6: an absent reason means Local.
          reason: p.reason ?? 'Local',
        })
      }
      return { idTagInfo: { status: 'Accepted' } }
    },
    DataTransfer: () => ({ status: 'UnknownVendorId' }),
    FirmwareStatusNotification: (p: { status: string }) =>
      keepEvent(link, 'FirmwareStatusNotification', `firmware ${p.status}`),
    DiagnosticsStatusNotification: (p: { status: string }) =>
      keepEvent(link, 'DiagnosticsStatusNotification', `diagnostics ${p.status}`),
  }
}
