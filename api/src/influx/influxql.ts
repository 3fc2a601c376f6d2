// Route schemas already restrict every user-supplied value (ids to the id pattern, fields to known
// names, times to integers); quoting and the checks below keep this module safe on its own.

/** Quotes an identifier (measurement, tag or field key) for InfluxQL. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** Quotes a string literal for InfluxQL. */
export function quoteString(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

export function assertMs(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new Error(`${what} ${value} is not a non-negative integer`)
  return value
}

/** `tz('…')` for a GROUP BY time(); the zone has been checked by the route. */
export const tzClause = (tz: string | undefined): string =>
  tz === undefined ? '' : ` tz(${quoteString(tz)})`
