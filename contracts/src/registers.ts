/**
 * How far apart two readings of one energy register may be from rounding alone. A register is read at
 * the resolution of the path it comes by: Wh with decimals over MQTT, kWh with as few as two decimals
 * over OCPP (10 Wh; OCPP leaves the precision to the charger), whole Wh in a StopTransaction. Two
 * roundings of the same reading can put a later one below an earlier one by up to half the coarser
 * step: when a station's path changes (evmon's first start writes the past over MQTT, then plays two
 * stations as OCPP chargers), or when a charger reports the register at two precisions.
 */
export const REGISTER_ROUNDING_WH = 10

/**
 * Whether `value` is a register reading lower than `previous` by more than rounding: a meter that went
 * back (a reset, a swap, a corrupt sample). A smaller dip is the same reading rounded differently.
 */
export function registerWentBack(previous: number, value: number): boolean {
  return value < previous - REGISTER_ROUNDING_WH
}

/**
 * The reading a register's next one is judged against, after `value` was accepted following `previous`:
 * the new reading, or after a dip within rounding the higher old one, so that dips in a row cannot walk
 * the reference down. A register that went back (accepted as a reset) starts again from its new reading.
 */
export function registerReference(previous: number, value: number): number {
  return registerWentBack(previous, value) ? value : Math.max(previous, value)
}
