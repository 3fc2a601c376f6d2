import { assertId, isValidId } from './ids.ts'

/** Contract version 1 topic root: `evmon/v1/{site}/{station}/{kind}`. */
export const TOPIC_ROOT = 'evmon/v1'

/** Every message kind a station publishes, and how (docs/design.md "MQTT contract"). */
export const MESSAGE_KINDS = {
  meta: { qos: 1, retain: true },
  online: { qos: 1, retain: true },
  telemetry: { qos: 1, retain: false },
  status: { qos: 1, retain: true },
  session: { qos: 1, retain: false },
} as const

export type MessageKind = keyof typeof MESSAGE_KINDS

/** Subscription that receives every station message of contract version 1. */
export const ALL_STATIONS_FILTER = `${TOPIC_ROOT}/#`

export interface StationTopic {
  site: string
  station: string
  kind: MessageKind
}

export function isMessageKind(value: string): value is MessageKind {
  return Object.hasOwn(MESSAGE_KINDS, value)
}

/** Builds the topic of one station message; throws on ids that break the id pattern. */
export function stationTopic(site: string, station: string, kind: MessageKind): string {
  assertId(site, 'site')
  assertId(station, 'station')
  return `${TOPIC_ROOT}/${site}/${station}/${kind}`
}

/** Topic root of one station, the prefix of everything it may publish. */
export function stationRoot(site: string, station: string): string {
  return `${TOPIC_ROOT}/${assertId(site, 'site')}/${assertId(station, 'station')}`
}

export type TopicParseResult = { ok: true; topic: StationTopic } | { ok: false; reason: string }

/** Parses a station topic; anything else (extra levels, bad ids, unknown kinds) is rejected with a reason. */
export function parseStationTopic(topic: string): TopicParseResult {
  const parts = topic.split('/')
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_ROOT) {
    return { ok: false, reason: `topic is not ${TOPIC_ROOT}/{site}/{station}/{kind}` }
  }
  const [, , site, station, kind] = parts as [string, string, string, string, string]
  if (!isValidId(site)) return { ok: false, reason: 'site id breaks the id pattern' }
  if (!isValidId(station)) return { ok: false, reason: 'station id breaks the id pattern' }
  if (!isMessageKind(kind)) return { ok: false, reason: `unknown message kind "${kind.slice(0, 32)}"` }
  return { ok: true, topic: { site, station, kind } }
}

/**
 * The MQTT client id a station must connect with. `.` cannot occur in ids, so two stations can never
 * share a client id (`a-b`+`c` and `a`+`b-c` would collide with `-`) and take over each other's session.
 */
export function stationClientId(site: string, station: string): string {
  return `${assertId(site, 'site')}.${assertId(station, 'station')}`
}
