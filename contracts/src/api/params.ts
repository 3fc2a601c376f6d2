import { Type, type NumberOptions } from '@sinclair/typebox'
import { Id } from '../schemas.ts'

// Query-parameter schemas shared by the API's routes (and the dashboard's URL builders). Patterns are
// strict so that only validated values ever reach an InfluxQL statement.

const EPOCH_MS = '\\d{1,15}'
const DATE = '\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])'
const TIME = '([01]\\d|2[0-3]):[0-5]\\d(:[0-5]\\d(\\.\\d{1,9})?)?'
const ZONE = '(Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d)'

/**
 * `from` / `to`: epoch milliseconds, or ISO-8601 — a date (UTC midnight) or a date-time with its
 * zone. A date-time without a zone is refused: it would be read in the server's local time.
 */
export const TIME_PATTERN = `^(${EPOCH_MS}|${DATE}(T${TIME}${ZONE})?)$`

/** `every`: a bucket width of whole seconds, minutes, hours or days, such as `10s`, `1m`, `1h`. */
export const EVERY_PATTERN = '^[1-9]\\d{0,5}[smhd]$'

/** `fields`: a comma-separated list of field names; which names exist is checked per route. */
export const FIELDS_PATTERN = '^[a-z_]{1,32}(,[a-z_]{1,32}){0,31}$'

/** `tz`: an IANA time-zone name such as `Asia/Shanghai`; the API also checks that it exists. */
export const TZ_PATTERN = '^[A-Za-z][A-Za-z0-9_+-]{0,31}(/[A-Za-z0-9_+-]{1,32}){0,2}$'

/**
 * A numeric query parameter within [minimum, maximum]. Query strings are coerced by ajv, which turns
 * `Infinity`, `-Infinity` or `1e309` into a non-finite number without checking it, and then skips
 * `minimum`/`maximum` for it (ajv-validator/ajv#2212, fastify/fastify#6718). The `allOf` repeats the
 * type check on the coerced value, where a non-finite number fails it: a 400, not a handler fed
 * `Infinity`.
 */
export const IntegerParam = (minimum: number, maximum: number, options: NumberOptions = {}) =>
  Type.Integer({ ...options, minimum, maximum, allOf: [{ type: 'integer' }] })
/** {@link IntegerParam} for a number that may have a fraction. */
export const NumberParam = (minimum: number, maximum: number, options: NumberOptions = {}) =>
  Type.Number({ ...options, minimum, maximum, allOf: [{ type: 'number' }] })

export const TimeParam = (description: string) => Type.String({ pattern: TIME_PATTERN, description })
export const TzParam = Type.String({
  pattern: TZ_PATTERN,
  description: "IANA time zone for bucketing; default: the site's (Asia/Shanghai)",
})

/** Raw points or 1-minute rollups; `auto` picks by range (raw up to `RAW_QUERY_MAX_RANGE_MS`). */
export const Resolution = Type.Union([Type.Literal('auto'), Type.Literal('raw'), Type.Literal('rollup')])
export const UsedResolution = Type.Union([Type.Literal('raw'), Type.Literal('rollup')])

/** `?site=&station=&connector=`: narrows an analytics request. */
export const ScopeQuery = {
  site: Type.Optional(Id),
  station: Type.Optional(Id),
  connector: Type.Optional(IntegerParam(1, 255)),
}
