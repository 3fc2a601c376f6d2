/** OCPP 1.6 ChargePointStatus values for a connector. */
export const CONNECTOR_STATUSES = [
  'Available',
  'Preparing',
  'Charging',
  'SuspendedEVSE',
  'SuspendedEV',
  'Finishing',
  'Reserved',
  'Unavailable',
  'Faulted',
] as const

export type ConnectorStatus = (typeof CONNECTOR_STATUSES)[number]

/** OCPP 1.6 ChargePointErrorCode values. */
export const ERROR_CODES = [
  'ConnectorLockFailure',
  'EVCommunicationError',
  'GroundFailure',
  'HighTemperature',
  'InternalError',
  'LocalListConflict',
  'NoError',
  'OtherError',
  'OverCurrentFailure',
  'OverVoltage',
  'PowerMeterFailure',
  'PowerSwitchFailure',
  'ReaderFailure',
  'ResetFailure',
  'UnderVoltage',
  'WeakSignal',
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

/** Statuses that count as occupied for occupancy (time utilisation), per DESIGN.md. */
export const OCCUPIED_STATUSES: ReadonlySet<ConnectorStatus> = new Set([
  'Preparing',
  'Charging',
  'SuspendedEVSE',
  'SuspendedEV',
  'Finishing',
])

/** Statuses in which a connector cannot serve a driver at all (availability, per DESIGN.md). */
export const UNAVAILABLE_STATUSES: ReadonlySet<ConnectorStatus> = new Set(['Faulted', 'Unavailable'])
