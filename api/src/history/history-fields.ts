import { badRequest } from '../errors.ts'

/**
 * Numeric fields of the `station` measurement that history can average. `online` (1/0) is written only
 * when a station connects or drops, so a bucket has it only if that happened within it.
 */
export const STATION_FIELDS = [
  'grid_power_w',
  'grid_energy_wh',
  'aux_power_w',
  'cabinet_temp_c',
  'online',
] as const

/** Numeric fields of the `connector` measurement that history can average. */
export const CONNECTOR_FIELDS = [
  'power_w',
  'offered_w',
  'voltage_v',
  'current_a',
  'energy_wh',
  'soc_pct',
  'temp_c',
  'coolant_c',
  'occupied',
  'in_service',
] as const

/** Fields the 1-minute rollups do not keep: `online` is an event, not a sampled value. */
export const RAW_ONLY_FIELDS: ReadonlySet<string> = new Set(['online'])

/** Fields to query per measurement. */
export interface FieldSelection {
  station: string[]
  connector: string[]
}

const isStationField = (f: string): boolean => (STATION_FIELDS as readonly string[]).includes(f)
const isConnectorField = (f: string): boolean => (CONNECTOR_FIELDS as readonly string[]).includes(f)

/**
 * Splits a `fields` list by measurement; every field when absent. Unknown names are refused by name,
 * which also keeps anything but these constants out of the query text.
 */
export function selectFields(fields: string | undefined): FieldSelection {
  if (fields === undefined) return { station: [...STATION_FIELDS], connector: [...CONNECTOR_FIELDS] }
  const names = [...new Set(fields.split(','))]
  const unknown = names.filter((f) => !isStationField(f) && !isConnectorField(f))
  if (unknown.length > 0) {
    throw badRequest(
      `unknown field ${unknown.join(', ')}; known: ${[...STATION_FIELDS, ...CONNECTOR_FIELDS].join(', ')}`,
    )
  }
  return { station: names.filter(isStationField), connector: names.filter(isConnectorField) }
}
