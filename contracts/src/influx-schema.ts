import { MEASUREMENTS } from './line-protocol.ts'

// The InfluxDB 1.x schema lifecycle (docs/design.md "InfluxDB schema"), shared by ingest, which creates it,
// and the api, which picks raw data or rollups by the requested range. Everything here is idempotent
// InfluxQL: CREATE ... on an existing policy or query is a no-op (or is dropped and recreated by ingest
// when its definition changed).

/** Retention policies: raw points for 30 days (the default policy), 1-minute rollups for 2 years. */
export const RETENTION_POLICIES = {
  raw: { name: 'raw', duration: '30d', shardDuration: '1d', default: true },
  rollup: { name: 'rollup', duration: '104w', shardDuration: '4w', default: false },
} as const

/** Rollup measurements (in the `rollup` policy), one point per series per minute. */
export const ROLLUP_MEASUREMENTS = {
  connector: 'connector_1m',
  station: 'station_1m',
} as const

/** Raw ranges up to this length are served from raw points; longer ones from the 1-minute rollups. */
export const RAW_QUERY_MAX_RANGE_MS = 6 * 3_600_000

/**
 * How each numeric field is rolled up. Instantaneous values are averaged; cumulative registers keep
 * the minute's last (largest) reading so deltas across rollups stay exact; `occupied` and `in_service`
 * are 0/1 flags whose mean is the minute's occupancy and availability.
 */
export const ROLLUP_FIELDS = {
  connector: {
    power_w: 'mean',
    offered_w: 'mean',
    voltage_v: 'mean',
    current_a: 'mean',
    soc_pct: 'mean',
    temp_c: 'mean',
    coolant_c: 'mean',
    occupied: 'mean',
    in_service: 'mean',
    energy_wh: 'max',
  },
  station: {
    grid_power_w: 'mean',
    aux_power_w: 'mean',
    cabinet_temp_c: 'mean',
    grid_energy_wh: 'max',
  },
} as const

/** Also kept per minute: the peak power, for sizing and load-management questions. */
const PEAKS = { connector: 'power_w', station: 'grid_power_w' } as const

const q = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

/** The continuous query that maintains one rollup measurement. */
export function continuousQuery(
  database: string,
  kind: keyof typeof ROLLUP_FIELDS,
): { name: string; query: string } {
  const source = kind === 'connector' ? MEASUREMENTS.connector : MEASUREMENTS.station
  const target = ROLLUP_MEASUREMENTS[kind]
  const fields = Object.entries(ROLLUP_FIELDS[kind]).map(([field, fn]) => `${fn}(${q(field)}) AS ${q(field)}`)
  fields.push(`max(${q(PEAKS[kind])}) AS ${q(`peak_${PEAKS[kind]}`)}`)
  const name = `cq_${target}`
  const query =
    `CREATE CONTINUOUS QUERY ${q(name)} ON ${q(database)} BEGIN SELECT ${fields.join(', ')} ` +
    `INTO ${q(database)}.${q(RETENTION_POLICIES.rollup.name)}.${q(target)} ` +
    `FROM ${q(database)}.${q(RETENTION_POLICIES.raw.name)}.${q(source)} GROUP BY time(1m), * END`
  return { name, query }
}
