import {
  MESSAGE_KINDS,
  stationTopic,
  type MessageKind,
  type Online,
  type PayloadByKind,
} from '@evmon/contracts'

/**
 * One MQTT message a simulated station publishes (QoS 1, as every kind in the contract). A message
 * marked `connection` is not the station's own: `lost` is the last will the broker publishes when
 * the station's connection drops, `restored` the `online` message it sends on reconnecting. A live
 * run acts them out on the connection; a dry run writes them as the broker would carry them.
 */
export type SimMessage = {
  [K in MessageKind]: {
    station: string
    kind: K
    topic: string
    payload: PayloadByKind[K]
    retain: boolean
    connection?: 'lost' | 'restored'
  }
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
 * A {@link stationMessage} for one site that builds each station's topics once: a city-scale run
 * publishes tens of thousands of messages a second, and validating ids each time would dominate.
 */
export function createMessageFactory(
  site: string,
): <K extends MessageKind>(station: string, kind: K, payload: PayloadByKind[K]) => SimMessage {
  const topics = new Map<string, Record<MessageKind, string>>()
  return (station, kind, payload) => {
    let own = topics.get(station)
    if (!own) {
      own = {
        meta: stationTopic(site, station, 'meta'),
        online: stationTopic(site, station, 'online'),
        telemetry: stationTopic(site, station, 'telemetry'),
        status: stationTopic(site, station, 'status'),
        session: stationTopic(site, station, 'session'),
      }
      topics.set(station, own)
    }
    return { station, kind, topic: own[kind], payload, retain: MESSAGE_KINDS[kind].retain } as SimMessage
  }
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
