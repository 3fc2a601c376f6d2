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

/** Statuses that count as occupied for occupancy (time utilisation), per docs/design.md. */
export const OCCUPIED_STATUSES: ReadonlySet<ConnectorStatus> = new Set([
  'Preparing',
  'Charging',
  'SuspendedEVSE',
  'SuspendedEV',
  'Finishing',
])

/** Statuses in which a connector cannot serve a driver at all (availability, per docs/design.md). */
export const UNAVAILABLE_STATUSES: ReadonlySet<ConnectorStatus> = new Set(['Faulted', 'Unavailable'])

/**
 * OCPP 1.6 StopTransaction reasons: the `reason` of a `stopped` session event on the MQTT contract,
 * whose statuses are OCPP 1.6 too. A car that ends its own charge (its battery management opens the
 * circuit at its target, or the car is unplugged) is `EVDisconnected`; a driver who stops at the
 * charger or in the app is `Local`; 1.6 has no SoC-limit reason.
 */
export const STOP_REASONS = [
  'DeAuthorized',
  'EmergencyStop',
  'EVDisconnected',
  'HardReset',
  'Local',
  'Other',
  'PowerLoss',
  'Reboot',
  'Remote',
  'SoftReset',
  'UnlockCommand',
] as const

export type StopReason = (typeof STOP_REASONS)[number]

/**
 * OCPP 2.0.1 stoppedReason values (ReasonEnumType). The 2.0.1 name of a car ending its own charge is
 * `StoppedByEV`; `SOCLimitReached` and `EnergyLimitReached` are limits the charger enforces.
 */
export const STOPPED_REASONS_201 = [
  'DeAuthorized',
  'EmergencyStop',
  'EnergyLimitReached',
  'EVDisconnected',
  'GroundFault',
  'ImmediateReset',
  'Local',
  'LocalOutOfCredit',
  'MasterPass',
  'Other',
  'OvercurrentFault',
  'PowerLoss',
  'PowerQuality',
  'Reboot',
  'Remote',
  'SOCLimitReached',
  'StoppedByEV',
  'TimeLimitReached',
  'Timeout',
] as const
