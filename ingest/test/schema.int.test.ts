import { randomBytes } from 'node:crypto'
import { continuousQuery, ROLLUP_MEASUREMENTS } from '@evmon/contracts'
import { expect, inject, test } from 'vitest'
import { createInfluxV1Writer } from '../src/influx-v1-writer.ts'
import { ensureSchema, type StatementResult } from '../src/schema-lifecycle.ts'
import { query } from './helpers.ts'

const influxUrl = inject('influxUrl')

async function run(statement: string): Promise<StatementResult> {
  const res = await fetch(`${influxUrl}/query?q=${encodeURIComponent(statement)}`, { method: 'POST' })
  return ((await res.json()) as { results: StatementResult[] }).results[0] ?? {}
}

test('the schema is created once and a second start changes nothing', async () => {
  const db = `evmon_schema_${randomBytes(4).toString('hex')}`
  await ensureSchema(db, run)
  const policies = await run(`SHOW RETENTION POLICIES ON "${db}"`)
  const cqs = await run('SHOW CONTINUOUS QUERIES')
  const statements: string[] = []
  await ensureSchema(db, (q) => {
    statements.push(q.split(' ').slice(0, 3).join(' '))
    return run(q)
  })
  // Only idempotent CREATEs and the SHOW: nothing dropped or altered.
  expect(statements).toEqual([
    'CREATE DATABASE "' + db + '"',
    'CREATE RETENTION POLICY',
    'CREATE RETENTION POLICY',
    'SHOW CONTINUOUS QUERIES',
  ])
  expect(await run(`SHOW RETENTION POLICIES ON "${db}"`)).toEqual(policies)
  expect(await run('SHOW CONTINUOUS QUERIES')).toEqual(cqs)

  expect(policies.series?.[0]?.values).toEqual([
    ['autogen', '0s', '168h0m0s', 1, false],
    ['raw', '720h0m0s', '24h0m0s', 1, true],
    ['rollup', '17472h0m0s', '672h0m0s', 1, false],
  ])
  const ours = cqs.series?.find((s) => s.name === db)?.values?.map((row) => row[0])
  expect(ours?.sort()).toEqual(['cq_connector_1m', 'cq_station_1m'])
})

test('a changed retention policy or continuous query is put back to the contract', async () => {
  const db = `evmon_schema_${randomBytes(4).toString('hex')}`
  await ensureSchema(db, run)
  await run(`ALTER RETENTION POLICY "raw" ON "${db}" DURATION 7d`)
  await run(`DROP CONTINUOUS QUERY "cq_station_1m" ON "${db}"`)
  await run(
    `CREATE CONTINUOUS QUERY "cq_station_1m" ON "${db}" BEGIN SELECT mean("grid_power_w") INTO "${db}"."rollup"."station_1m" FROM "${db}"."raw"."station" GROUP BY time(5m) END`,
  )
  await ensureSchema(db, run)
  const raw = (await run(`SHOW RETENTION POLICIES ON "${db}"`)).series?.[0]?.values?.find(
    (r) => r[0] === 'raw',
  )
  expect(raw?.[1]).toBe('720h0m0s')
  const station = (await run('SHOW CONTINUOUS QUERIES')).series
    ?.find((s) => s.name === db)
    ?.values?.find((r) => r[0] === 'cq_station_1m')
  expect(station?.[1]).toBe(continuousQuery(db, 'station').query.replace(/"/g, ''))
})

test('ingest writes into the raw policy and the continuous queries compute the 1-minute rollups', async () => {
  const db = `evmon_schema_${randomBytes(4).toString('hex')}`
  const writer = createInfluxV1Writer({ url: influxUrl, database: db, timeoutMs: 5_000, maxSockets: 1 })
  await writer.prepare()
  const minute = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000
  const lines = [0, 20_000, 40_000].flatMap((dt, i) => [
    `connector,connector=1,site=a,station=b power_w=${100 * (i + 1)},energy_wh=${1_000 + i},occupied=${i === 0 ? 0 : 1},in_service=1 ${minute + dt}`,
    `station,site=a,station=b grid_power_w=${300 * (i + 1)},grid_energy_wh=${5_000 + i},aux_power_w=10 ${minute + dt}`,
  ])
  await writer.write(lines)
  await writer.close()

  // InfluxDB runs continuous queries on its own schedule, for recent intervals only: run each one's
  // SELECT … INTO over this hour-old minute, exactly as stored, to prove it is valid and computes
  // the rollup the API reads.
  for (const kind of ['connector', 'station'] as const) {
    const { query: cq } = continuousQuery(db, kind)
    const select = /BEGIN (.*) GROUP BY/.exec(cq)?.[1] as string
    const result = await run(
      `${select} WHERE time >= ${minute}ms AND time < ${minute + 60_000}ms GROUP BY time(1m), *`,
    )
    expect(result.error).toBeUndefined()
  }
  const rp = (m: string) => `"${db}"."rollup"."${m}"`
  expect(
    await query(
      influxUrl,
      db,
      `SELECT power_w, peak_power_w, energy_wh, occupied FROM ${rp(ROLLUP_MEASUREMENTS.connector)}`,
    ),
  ).toEqual([[minute, 200, 300, 1_002, 2 / 3]])
  expect(
    await query(
      influxUrl,
      db,
      `SELECT grid_power_w, peak_grid_power_w, grid_energy_wh FROM ${rp(ROLLUP_MEASUREMENTS.station)}`,
    ),
  ).toEqual([[minute, 600, 900, 5_002]])
  expect(await query(influxUrl, db, `SELECT count(power_w) FROM "${db}"."raw"."connector"`)).toEqual([[0, 3]])
})
