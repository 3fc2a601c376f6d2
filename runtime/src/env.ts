// One way to read EVMON_* configuration, used by every service: each service declares its variables
// once (name, default, meaning, parser) and reads them in one pass that collects every problem before
// failing. The declarations double as documentation: the README table and `.env.example` are
// generated from them (scripts/env-docs.ts).

/**
 * One environment variable: how to parse it, its default, and what it means. `D` is the default's
 * type: `undefined` makes the variable optional (its value may be `undefined`).
 */
export interface EnvVar<T, D extends T | undefined = T | undefined> {
  name: string
  /** `undefined`: the variable is optional and has no default. */
  default: D
  doc: string
  /** A password or token: problems name the variable but never echo its value. */
  secret?: boolean
  /** Returns the value, or throws an Error whose message says what is wrong with `raw`. */
  parse(raw: string): T
}

type Value<V> = V extends EnvVar<infer T> ? T : never
export type EnvValues<S extends Record<string, EnvVar<unknown>>> = {
  [K in keyof S]: undefined extends S[K]['default'] ? Value<S[K]> | undefined : Value<S[K]>
}

/** Thrown when configuration is invalid; `problems` lists every bad variable, not just the first. */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(
    service: string,
    readonly problems: string[],
  ) {
    super(`invalid ${service} configuration:\n  ${problems.join('\n  ')}`)
  }
}

function variable<T, D extends T | undefined>(
  name: string,
  def: D,
  doc: string,
  parse: (raw: string) => T,
  secret = false,
): EnvVar<T, D> {
  return { name, default: def, doc, parse, ...(secret && { secret }) }
}

/** Declarations of the usual kinds of variable. */
export const envVar = {
  string<D extends string | undefined>(
    name: string,
    def: D,
    doc: string,
    pattern?: RegExp,
    hint = `must match ${pattern}`,
  ) {
    return variable(name, def, doc, (raw) => {
      if (pattern && !pattern.test(raw)) throw new Error(hint)
      return raw
    })
  },
  /** A password or token: optional, and never echoed in a problem. */
  secret(name: string, doc: string) {
    return variable(name, undefined, doc, (raw) => raw, true)
  },
  int<D extends number | undefined>(name: string, def: D, doc: string, min: number, max: number) {
    return variable(name, def, doc, (raw) => {
      const n = Number(raw)
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(`must be a whole number from ${min} to ${max}`)
      }
      return n
    })
  },
  port<D extends number | undefined>(name: string, def: D, doc: string) {
    return envVar.int(name, def, doc, 0, 65_535)
  },
  url<D extends string | undefined>(name: string, def: D, doc: string, protocols: readonly string[]) {
    return variable(name, def, doc, (raw) => {
      let url: URL
      try {
        url = new URL(raw)
      } catch {
        throw new Error('is not a URL')
      }
      if (!protocols.includes(url.protocol)) throw new Error(`must use ${protocols.join(' or ')}`)
      return raw
    })
  },
  bool(name: string, def: boolean, doc: string) {
    return variable(name, def, doc, (raw) => {
      if (raw !== 'true' && raw !== 'false') throw new Error('must be true or false')
      return raw === 'true'
    })
  },
  oneOf<T extends string>(name: string, def: T, doc: string, values: readonly T[]) {
    return variable(name, def, doc, (raw) => {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`)
      return raw as T
    })
  },
  /**
   * Comma-separated entries, trimmed, empty ones dropped. With `pattern`, every entry must match it;
   * the problem names each entry that does not.
   */
  list(name: string, def: readonly string[], doc: string, pattern?: RegExp, hint = `must match ${pattern}`) {
    return variable<readonly string[], readonly string[]>(name, def, doc, (raw) => {
      const entries = raw
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '')
      const bad = pattern ? entries.filter((e) => !pattern.test(e)) : []
      if (bad.length > 0)
        throw new Error(`has ${bad.map((e) => JSON.stringify(e)).join(', ')}, which ${hint}`)
      return entries
    })
  },
  /** Any other kind: `parse` returns the value or throws an Error saying what is wrong. */
  custom<T, D extends T | undefined>(
    name: string,
    def: D,
    doc: string,
    parse: (raw: string) => T,
    options: { secret?: boolean } = {},
  ) {
    return variable(name, def, doc, parse, options.secret)
  },
}

/**
 * Reads every declared variable from `env` (empty counts as unset; a default is used as declared,
 * not parsed). Returns the values and the
 * problems found; callers add cross-variable checks to `problems`, then call {@link assertNoProblems}.
 */
export function readEnv<S extends Record<string, EnvVar<unknown>>>(
  spec: S,
  env: Record<string, string | undefined>,
): { values: EnvValues<S>; problems: string[] } {
  const problems: string[] = []
  const values: Record<string, unknown> = {}
  for (const [key, v] of Object.entries(spec)) {
    const raw = env[v.name]
    if (raw === undefined || raw === '') {
      values[key] = v.default
      continue
    }
    try {
      values[key] = v.parse(raw)
    } catch (err) {
      const message = (err as Error).message
      problems.push(v.secret ? `${v.name} ${message}` : `${v.name}=${JSON.stringify(raw)} ${message}`)
      values[key] = v.default
    }
  }
  return { values: values as EnvValues<S>, problems }
}

/** Throws a {@link ConfigError} naming every problem, if there are any. */
export function assertNoProblems(service: string, problems: string[]): void {
  if (problems.length > 0) throw new ConfigError(service, problems)
}

/** The broker account every MQTT client service (ingest, api, simulator) declares the same way. */
export const mqttClientEnv = {
  mqttUrl: envVar.url('EVMON_MQTT_URL', 'mqtt://127.0.0.1:1883', 'the broker', [
    'mqtt:',
    'mqtts:',
    'tcp:',
    'ssl:',
    'ws:',
    'wss:',
  ]),
  mqttUsername: envVar.string('EVMON_MQTT_USERNAME', undefined, "the service's broker account"),
  mqttPassword: envVar.secret('EVMON_MQTT_PASSWORD', "the broker account's password"),
}

/** The InfluxDB 1.x connection, declared once for the services that write (ingest) and read (api) it. */
export const influxEnv = {
  influxUrl: envVar.url('EVMON_INFLUX_URL', 'http://127.0.0.1:8086', 'InfluxDB', ['http:', 'https:']),
  // Kept to a safe character set: the name goes into a CREATE DATABASE statement and a query string.
  influxDb: envVar.string(
    'EVMON_INFLUX_DB',
    'evmon',
    'database (created by ingest when absent)',
    /^[A-Za-z0-9_-]{1,64}$/,
    'must be 1-64 letters, digits, _ or -',
  ),
  influxUsername: envVar.string(
    'EVMON_INFLUX_USERNAME',
    undefined,
    'InfluxDB user, if it requires authentication',
  ),
  influxPassword: envVar.secret('EVMON_INFLUX_PASSWORD', "the InfluxDB user's password"),
}

/**
 * The contract's telemetry period, declared once for the service that publishes samples on it (the
 * gateway) and the one that judges their freshness by it (api).
 */
export const sampleIntervalEnv = {
  sampleIntervalMs: envVar.int(
    'EVMON_SAMPLE_INTERVAL_MS',
    1_000,
    'telemetry period; a station is stale after 3 periods without telemetry',
    100,
    3_600_000,
  ),
}
