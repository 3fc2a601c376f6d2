import { assertId } from '@evmon/contracts'
import { assertMs, quoteIdentifier, quoteString, tzClause } from './influxql.ts'

/** Which connectors an analytics request covers; every value has passed its route schema. */
export interface Scope {
  site?: string
  station?: string
  connector?: number
}

/** Bucketing of an analytics request: `none` = one bucket for the whole range. */
export type Group = 'none' | 'day' | 'hour'

/** WHERE clause for a scope and [fromMs, toMs); ids are re-checked so this module is safe on its own. */
export function whereClause(scope: Scope, fromMs: number, toMs: number, withConnector = true): string {
  return [
    ...scopeParts(scope, withConnector),
    `time >= ${assertMs(fromMs, 'from')}ms`,
    `time < ${assertMs(toMs, 'to')}ms`,
  ].join(' AND ')
}

/** WHERE clause for a scope and everything before `beforeMs`: the state a window starts from. */
export const beforeClause = (scope: Scope, beforeMs: number, withConnector = true): string =>
  [...scopeParts(scope, withConnector), `time < ${assertMs(beforeMs, 'from')}ms`].join(' AND ')

function scopeParts(scope: Scope, withConnector: boolean): string[] {
  const parts: string[] = []
  if (scope.site !== undefined)
    parts.push(`${quoteIdentifier('site')} = ${quoteString(assertId(scope.site, 'site'))}`)
  if (scope.station !== undefined) {
    parts.push(`${quoteIdentifier('station')} = ${quoteString(assertId(scope.station, 'station'))}`)
  }
  if (withConnector && scope.connector !== undefined) {
    if (!Number.isInteger(scope.connector)) throw new Error('connector is not an integer')
    parts.push(`${quoteIdentifier('connector')} = ${quoteString(String(scope.connector))}`)
  }
  return parts
}

/**
 * GROUP BY: the time bucket of the group (hours are folded into hour-of-day afterwards) and the tags.
 * Buckets without points are left out, or with `fill: '0'` given as zeros (a series then has a row
 * for every bucket of the range, which is how silent periods are counted).
 */
export function groupBy(
  group: Group,
  tags: readonly string[],
  tz: string,
  fill: 'none' | '0' = 'none',
): string {
  const bucket = group === 'day' ? ['time(1d)'] : group === 'hour' ? ['time(1h)'] : []
  const by = [...bucket, ...tags.map(quoteIdentifier)].join(', ')
  return `GROUP BY ${by}${group === 'none' ? '' : ` fill(${fill})${tzClause(tz)}`}`
}
