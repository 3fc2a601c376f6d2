import {
  MESSAGE_KINDS,
  stationTopic,
  type MessageKind,
  type Online,
  type PayloadByKind,
} from '@evmon/contracts'

/** One MQTT message a simulated station publishes (QoS 1, as every kind in the contract). */
export type SimMessage = {
  [K in MessageKind]: { station: string; kind: K; topic: string; payload: PayloadByKind[K]; retain: boolean }
}[MessageKind]

/** Builds a message with the topic and retain flag the contract prescribes for its kind. */
export function stationMessage<K extends MessageKind>(
  site: string,
  station: string,
  kind: K,
  payload: PayloadByKind[K],
): SimMessage {
  return {
    station,
    kind,
    topic: stationTopic(site, station, kind),
    payload,
    retain: MESSAGE_KINDS[kind].retain,
  } as SimMessage
}

/**
 * The station's presence. `ts` is omitted only in the last will, which the broker publishes on the
 * station's behalf at a time the station cannot know.
 */
export function onlineMessage(site: string, station: string, online: boolean, ts?: number): SimMessage {
  const payload: Online = ts === undefined ? { online } : { online, ts }
  return stationMessage(site, station, 'online', payload)
}

/** The NDJSON line of a dry run: exactly what would be published, without the trailing newline. */
export function toNdjsonLine(message: SimMessage): string {
  return JSON.stringify({ topic: message.topic, payload: message.payload, retain: message.retain })
}
