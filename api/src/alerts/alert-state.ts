import { Alert } from '@evmon/contracts'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { conditionKey, type AlertEngineState } from './alert-engine.ts'

/** The alerts file: an {@link AlertEngineState} with a format version, so a future format is refused, not misread. */
const AlertStateFile = Type.Object({
  v: Type.Literal(1),
  counter: Type.Integer({ minimum: 0 }),
  alerts: Type.Array(Alert),
  lastEnergy: Type.Record(Type.String(), Type.Number({ minimum: 0 })),
})

/** The alerts file's text for `state`. */
export function encodeAlertState(state: AlertEngineState): string {
  return JSON.stringify({ v: 1, ...state })
}

/** What a schema cannot say: ids are unique and not ahead of the counter, one open alert per condition. */
function inconsistency(state: AlertEngineState): string | undefined {
  const ids = new Set<string>()
  const open = new Set<string>()
  for (const alert of state.alerts) {
    if (ids.has(alert.id)) return `alert id ${alert.id} appears twice`
    ids.add(alert.id)
    // The engine's ids are `a<counter, base 36>-<start, base 36>`: a higher counter would be handed out again.
    const issued = /^a([0-9a-z]+)-/.exec(alert.id)?.[1]
    if (issued !== undefined && parseInt(issued, 36) > state.counter)
      return `alert id ${alert.id} is ahead of the id counter ${state.counter}`
    if (alert.ended_at === null) {
      const key = conditionKey(alert)
      if (open.has(key)) return `two open alerts for ${key}`
      open.add(key)
    }
  }
  return undefined
}

/**
 * Parses the text of an alerts file against the contracts' `Alert` schema. Never throws: a file that
 * cannot be used comes back as a human-readable problem.
 */
export function decodeAlertState(
  text: string,
): { ok: true; state: AlertEngineState } | { ok: false; problem: string } {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    return { ok: false, problem: `not JSON: ${(err as Error).message}` }
  }
  if (!Value.Check(AlertStateFile, body)) {
    const first = Value.Errors(AlertStateFile, body).First()
    return { ok: false, problem: first ? `${first.path || '/'}: ${first.message}` : 'not an alerts file' }
  }
  const state = { counter: body.counter, alerts: body.alerts, lastEnergy: body.lastEnergy }
  const problem = inconsistency(state)
  return problem === undefined ? { ok: true, state } : { ok: false, problem }
}
