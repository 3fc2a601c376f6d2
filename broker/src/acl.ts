import {
  ALL_STATIONS_FILTER,
  isMessageKind,
  stationClientId,
  stationRoot,
  TOPIC_ROOT,
} from '@evmon/contracts'
import type { Identity } from './credentials.ts'

// Least privilege, decided from the authenticated identity alone (never from what a client claims):
// - a station publishes only the five message kinds under its own root, and subscribes only to its
//   own command topics;
// - ingest and api read every station topic (directly or through a shared subscription);
// - the simulator plays stations, and the OCPP gateway speaks for the chargers behind it, so both may
//   publish any station's messages, and read nothing.

const SHARED_PREFIX = /^\$share\/[A-Za-z0-9_-]{1,64}\//

/** May `identity` publish to `topic`? */
export function canPublish(identity: Identity, topic: string): boolean {
  switch (identity.role) {
    case 'station': {
      const root = `${stationRoot(identity.site, identity.station)}/`
      return topic.startsWith(root) && isMessageKind(topic.slice(root.length))
    }
    case 'simulator':
    case 'gateway': {
      const parts = topic.split('/')
      return parts.length === 5 && topic.startsWith(`${TOPIC_ROOT}/`) && isMessageKind(parts[4] as string)
    }
    case 'ingest':
    case 'api':
      return false
  }
}

/** May `identity` subscribe to `filter`? */
export function canSubscribe(identity: Identity, filter: string): boolean {
  switch (identity.role) {
    case 'station': {
      const commands = `${stationRoot(identity.site, identity.station)}/cmd/`
      return (
        filter.startsWith(commands) && !filter.slice(commands.length).includes('#') && !filter.includes('+')
      )
    }
    case 'ingest':
    case 'api': {
      const plain = filter.replace(SHARED_PREFIX, '')
      return plain === ALL_STATIONS_FILTER || plain.startsWith(`${TOPIC_ROOT}/`)
    }
    case 'simulator':
    case 'gateway':
      return false
  }
}

/** The client id an identity must use, or null when any id is acceptable (services). */
export function requiredClientId(identity: Identity): string | null {
  return identity.role === 'station' ? stationClientId(identity.site, identity.station) : null
}
