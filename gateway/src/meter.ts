import { DEFAULT_DECODE_LIMITS } from '@evmon/contracts'

/** What the contract carries per connector, in its units. */
export type Quantity =
  'power_w' | 'offered_w' | 'voltage_v' | 'current_a' | 'energy_wh' | 'soc_pct' | 'temp_c'

/** One meter reading: the quantities a charger sampled at one time stamp. */
export interface Reading {
  ts: number
  values: Partial<Record<Quantity, number>>
}

/** A sampled value as either OCPP version sends it, after the version's own field names are read. */
export interface SampledValue {
  value: number | string
  /** Default (both versions): Energy.Active.Import.Register. */
  measurand?: string
  phase?: string
  /** Default: the measurand's base unit (Wh for the register). */
  unit?: string
  /** OCPP 2.0.1: the value is value × 10^multiplier. */
  multiplier?: number
  /** OCPP 1.6: SignedData values are opaque. */
  format?: string
  context?: string
  location?: string
}

/** Why a value or a time stamp was not used; each reason has a counter. */
export type RejectReason =
  | 'unit'
  | 'not_a_number'
  | 'absurd'
  | 'signed_data'
  | 'not_in_contract'
  | 'ts_invalid'
  | 'ts_future'
  | 'ts_past'

interface Mapping {
  quantity: Quantity
  /** Factor to the contract's unit, by OCPP unit. */
  units: Record<string, (v: number) => number>
  /** How per-phase values make the total when the charger sends no phase-less one. */
  phases: 'sum' | 'mean'
  min: number
  max: number
}

const same = (v: number) => v
const kilo = (v: number) => v * 1000
// Ranges are the contract's (contracts/src/schemas.ts): a value outside them is a broken meter or a
// unit mix-up, not a measurement, and is not carried.
const MAPPINGS: Record<string, Mapping> = {
  'Energy.Active.Import.Register': {
    quantity: 'energy_wh',
    units: { Wh: same, kWh: kilo },
    phases: 'sum',
    min: 0,
    max: 1e15,
  },
  'Power.Active.Import': {
    quantity: 'power_w',
    units: { W: same, kW: kilo },
    phases: 'sum',
    min: 0,
    max: 2e6,
  },
  'Power.Offered': { quantity: 'offered_w', units: { W: same, kW: kilo }, phases: 'sum', min: 0, max: 2e6 },
  Voltage: { quantity: 'voltage_v', units: { V: same }, phases: 'mean', min: 0, max: 2000 },
  'Current.Import': { quantity: 'current_a', units: { A: same }, phases: 'sum', min: 0, max: 2000 },
  SoC: { quantity: 'soc_pct', units: { Percent: same }, phases: 'mean', min: 0, max: 100 },
  Temperature: {
    quantity: 'temp_c',
    units: { Celsius: same, Celcius: same, Fahrenheit: (f) => ((f - 32) * 5) / 9, K: (k) => k - 273.15 },
    phases: 'mean',
    min: -60,
    max: 250,
  },
}
const BASE_UNIT: Record<Quantity, string> = {
  energy_wh: 'Wh',
  power_w: 'W',
  offered_w: 'W',
  voltage_v: 'V',
  current_a: 'A',
  soc_pct: 'Percent',
  temp_c: 'Celsius',
}

// Per-phase values that make up a total: line currents and powers, line-to-neutral voltages.
// Line-to-line voltages and the neutral conductor are not summed into anything.
const PHASES_FOR_TOTAL = new Set(['L1', 'L2', 'L3', 'L1-N', 'L2-N', 'L3-N'])

/**
 * Parses an OCPP time stamp and checks it against the receiver's clock with the limits ingest applies
 * (a few minutes of skew ahead, raw retention behind): anything outside would be refused downstream.
 */
export function parseTimestamp(text: string, nowMs: number): number | RejectReason {
  const ts = Date.parse(text)
  if (!Number.isFinite(ts)) return 'ts_invalid'
  if (ts > nowMs + DEFAULT_DECODE_LIMITS.maxFutureMs) return 'ts_future'
  if (ts < nowMs - DEFAULT_DECODE_LIMITS.maxPastMs) return 'ts_past'
  return ts
}

/**
 * Turns the sampled values of one time stamp into a reading in the contract's units. Every value that
 * cannot be used is reported to `reject` with its reason and left out; nothing is guessed.
 */
export function readSampledValues(
  ts: number,
  sampled: readonly SampledValue[],
  reject: (reason: RejectReason, detail: string) => void,
): Reading {
  const totals = new Map<Quantity, number>()
  const perPhase = new Map<Quantity, number[]>()
  for (const s of sampled) {
    const measurand = s.measurand ?? 'Energy.Active.Import.Register'
    const mapping = MAPPINGS[measurand]
    if (!mapping) {
      reject('not_in_contract', measurand)
      continue
    }
    // The car's own temperature is not the charger's.
    if (mapping.quantity === 'temp_c' && (s.location === 'EV' || s.location === 'Inlet')) {
      reject('not_in_contract', `${measurand} at ${s.location}`)
      continue
    }
    if (s.format === 'SignedData') {
      reject('signed_data', measurand)
      continue
    }
    const unit = s.unit ?? BASE_UNIT[mapping.quantity]
    const convert = mapping.units[unit]
    if (!convert) {
      reject('unit', `${measurand} in ${unit}`)
      continue
    }
    const raw = typeof s.value === 'number' ? s.value : s.value.trim() === '' ? NaN : Number(s.value)
    if (!Number.isFinite(raw)) {
      reject('not_a_number', `${measurand} = ${JSON.stringify(s.value).slice(0, 40)}`)
      continue
    }
    const value = convert(raw * 10 ** (s.multiplier ?? 0))
    if (s.phase === undefined) totals.set(mapping.quantity, value)
    else if (PHASES_FOR_TOTAL.has(s.phase))
      perPhase.set(mapping.quantity, [...(perPhase.get(mapping.quantity) ?? []), value])
  }
  const values: Reading['values'] = {}
  for (const [measurand, mapping] of Object.entries(MAPPINGS)) {
    const q = mapping.quantity
    const phases = perPhase.get(q)
    const total =
      totals.get(q) ?? (phases && (mapping.phases === 'sum' ? sum(phases) : sum(phases) / phases.length))
    if (total === undefined) continue
    if (total < mapping.min || total > mapping.max) {
      reject('absurd', `${measurand} = ${total} ${BASE_UNIT[q]}`)
      continue
    }
    values[q] = decimal(total)
  }
  return { ts, values }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)
/**
 * The reading as the decimal the charger sent, without the binary noise that scaling and summing add
 * (524.1281 kWh × 1000 is 524128.10000000003 in floating point): a double holds 15 significant decimal
 * digits of a decimal number, so rounding to them removes the noise and keeps every digit sent.
 */
const decimal = (value: number) => Number(value.toPrecision(15))
