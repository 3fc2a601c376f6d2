import { continuousQuery, RETENTION_POLICIES, ROLLUP_FIELDS } from '@evmon/contracts'

/** One InfluxQL statement's result, as `/query` returns it. */
export interface StatementResult {
  error?: string
  series?: { name?: string; columns: string[]; values?: unknown[][] }[]
}

/** Runs one InfluxQL statement (POST /query) and returns its result. */
export type RunStatement = (statement: string) => Promise<StatementResult>

const quote = (name: string) => `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`

// SHOW CONTINUOUS QUERIES prints identifiers unquoted when they need no quotes (ours never do).
const unquoted = (query: string) => query.replace(/"/g, '')

async function must(run: RunStatement, statement: string): Promise<StatementResult> {
  const result = await run(statement)
  if (result.error) throw new Error(`${statement.slice(0, 120)}: ${result.error}`)
  return result
}

/**
 * Creates or updates the InfluxDB 1.x schema (docs/design.md, `@evmon/contracts` influx-schema): the
 * database, the `raw` (default) and `rollup` retention policies, and one continuous query per rollup
 * measurement. Safe to run at every start and concurrently from several instances: CREATE of an
 * identical policy is a no-op, a policy whose duration changed is ALTERed, and a continuous query is
 * dropped and recreated only when its text differs from the contract's.
 */
export async function ensureSchema(database: string, run: RunStatement): Promise<void> {
  const db = quote(database)
  await must(run, `CREATE DATABASE ${db}`)
  for (const rp of Object.values(RETENTION_POLICIES)) {
    const spec = `DURATION ${rp.duration} REPLICATION 1 SHARD DURATION ${rp.shardDuration}${rp.default ? ' DEFAULT' : ''}`
    const created = await run(`CREATE RETENTION POLICY ${quote(rp.name)} ON ${db} ${spec}`)
    if (created.error && /already exists/.test(created.error)) {
      await must(run, `ALTER RETENTION POLICY ${quote(rp.name)} ON ${db} ${spec}`)
    } else if (created.error) {
      throw new Error(`retention policy ${rp.name}: ${created.error}`)
    }
  }
  const shown = await must(run, 'SHOW CONTINUOUS QUERIES')
  const existing = new Map<string, string>()
  for (const series of shown.series ?? []) {
    if (series.name !== database) continue
    for (const row of series.values ?? []) existing.set(String(row[0]), String(row[1]))
  }
  for (const kind of Object.keys(ROLLUP_FIELDS) as (keyof typeof ROLLUP_FIELDS)[]) {
    const cq = continuousQuery(database, kind)
    const current = existing.get(cq.name)
    if (current !== undefined && unquoted(current) === unquoted(cq.query)) continue
    if (current !== undefined) await must(run, `DROP CONTINUOUS QUERY ${quote(cq.name)} ON ${db}`)
    await must(run, cq.query)
  }
}
