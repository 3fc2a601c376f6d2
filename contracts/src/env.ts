// One way to read EVMON_* configuration, used by every service: each service declares its variables
// once (name, default, meaning, parser) and reads them in one pass that collects every problem before
// failing. The declarations double as documentation: the README table is checked against them.

/** One environment variable: how to parse it, its default, and what it means. */
export interface EnvVar<T> {
  name: string
  /** `undefined`: the variable is optional and has no default. */
  default: T | undefined
  doc: string
  /** Returns the value, or throws an Error whose message says what is wrong with `raw`. */
  parse(raw: string): T
}

type Value<V> = V extends EnvVar<infer T> ? T : never
export type EnvValues<S extends Record<string, EnvVar<unknown>>> = {
  [K in keyof S]: S[K]['default'] extends undefined ? Value<S[K]> | undefined : Value<S[K]>
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

function variable<T>(name: string, def: T | undefined, doc: string, parse: (raw: string) => T): EnvVar<T> {
  return { name, default: def, doc, parse }
}

/** Declarations of the usual kinds of variable. */
export const envVar = {
  string(
    name: string,
    def: string | undefined,
    doc: string,
    pattern?: RegExp,
    hint = `must match ${pattern}`,
  ) {
    return variable(name, def, doc, (raw) => {
      if (pattern && !pattern.test(raw)) throw new Error(hint)
      return raw
    })
  },
  int(name: string, def: number | undefined, doc: string, min: number, max: number) {
    return variable(name, def, doc, (raw) => {
      const n = Number(raw)
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new Error(`must be a whole number from ${min} to ${max}`)
      }
      return n
    })
  },
  port(name: string, def: number | undefined, doc: string) {
    return envVar.int(name, def, doc, 0, 65_535)
  },
  url(name: string, def: string | undefined, doc: string, protocols: readonly string[]) {
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
}

/**
 * Reads every declared variable from `env` (empty counts as unset). Returns the values and the
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
      problems.push(`${v.name}=${JSON.stringify(raw)} ${(err as Error).message}`)
      values[key] = v.default
    }
  }
  return { values: values as EnvValues<S>, problems }
}

/** Throws a {@link ConfigError} naming every problem, if there are any. */
export function assertNoProblems(service: string, problems: string[]): void {
  if (problems.length > 0) throw new ConfigError(service, problems)
}
