/**
 * An error the API answers with on purpose. Below 500 its message reaches the client verbatim, so it
 * must be written for the client; from 500 up the message is only logged.
 */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** A query parameter that passed its schema but is wrong in combination (reversed range, too many buckets). */
export const badRequest = (message: string): ApiError => new ApiError(400, 'EVMON_BAD_REQUEST', message)

/** The station is known neither to the live view nor to the history store. */
export const stationNotFound = (station: string, site?: string): ApiError =>
  new ApiError(
    404,
    'EVMON_STATION_NOT_FOUND',
    site === undefined ? `station ${station} not found` : `station ${station} not found at site ${site}`,
  )

/** The same station id exists at several sites; the client has to say which. */
export const ambiguousStation = (station: string, sites: readonly string[]): ApiError =>
  new ApiError(
    400,
    'EVMON_AMBIGUOUS_STATION',
    `station ${station} exists at sites ${sites.join(', ')}: choose one with ?site=`,
  )

/** A plain HTTP request to a WebSocket-only route. */
export const upgradeRequired = (): ApiError =>
  new ApiError(426, 'EVMON_UPGRADE_REQUIRED', 'this route is a WebSocket: connect with a WebSocket client')

/** InfluxDB did not answer (down, timeout, 5xx); retrying later may help. */
export const influxUnavailable = (detail: string, cause?: unknown): ApiError =>
  new ApiError(503, 'EVMON_INFLUX_UNAVAILABLE', `InfluxDB unavailable: ${detail}`, { cause })

/** InfluxDB answered but refused the query: a bug or a schema mismatch on our side. */
export const influxQueryFailed = (detail: string): ApiError =>
  new ApiError(502, 'EVMON_INFLUX_QUERY_FAILED', `InfluxDB query failed: ${detail}`)

/** No token, or one we do not know. */
export const unauthorized = (message: string): ApiError => new ApiError(401, 'EVMON_UNAUTHORIZED', message)

/** A valid token without the role the route needs. */
export const forbidden = (message: string): ApiError => new ApiError(403, 'EVMON_FORBIDDEN', message)

/** An id that names nothing we know (session, alert, site). */
export const notFound = (what: string): ApiError => new ApiError(404, 'EVMON_NOT_FOUND', `${what} not found`)

/** The client used up its requests for the current minute. */
export const rateLimited = (message: string): ApiError => new ApiError(429, 'EVMON_RATE_LIMITED', message)
