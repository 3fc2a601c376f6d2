/** Site and station ids: lower-case, safe in topics, tags, file names and URLs. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$'

const idRegExp = new RegExp(ID_PATTERN)

/** True when `value` is a valid site or station id. */
export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && idRegExp.test(value)
}

/** Throws a clear error when `value` is not a valid id; used where ids come from config or code. */
export function assertId(value: unknown, what: string): string {
  if (!isValidId(value)) {
    throw new Error(`${what} ${JSON.stringify(value)} is not a valid id (${ID_PATTERN})`)
  }
  return value
}
