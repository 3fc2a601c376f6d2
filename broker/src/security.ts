import type { AedesOptions, AuthenticateError, Client } from 'aedes'
import { canPublish, canSubscribe, requiredClientId } from './acl.ts'
import type { Credentials, Identity } from './credentials.ts'
import { FailureLimiter, TokenBucket } from '@evmon/runtime'
import type { BrokerCounters } from './metrics.ts'

export interface SecurityLimits {
  maxPayloadBytes: number
  maxTopicLevels: number
  /** Concurrent connections one station identity may hold. */
  maxConnectionsPerStation: number
  /** Concurrent connections one service identity may hold (the simulator opens one per station). */
  maxConnectionsPerService: number
  /** Sustained publishes per second for a station connection, and the burst allowed above it. */
  stationPublishRatePerS: number
  stationPublishBurst: number
  /** Failed logins per remote address (and per username) within the window before refusing. */
  maxAuthFailures: number
  authFailureWindowMs: number
}

export const defaultLimits: SecurityLimits = {
  maxPayloadBytes: 64 * 1024, // EVMON_BROKER_MAX_PAYLOAD_BYTES: a telemetry message is ~1 KiB
  maxTopicLevels: 8, // EVMON_BROKER_MAX_TOPIC_LEVELS: evmon topics have 5
  maxConnectionsPerStation: 2, // EVMON_BROKER_MAX_CONN_PER_STATION: a reconnect may overlap the old one
  maxConnectionsPerService: 100_000, // EVMON_BROKER_MAX_CONN_PER_SERVICE: city-scale simulation
  stationPublishRatePerS: 20, // EVMON_BROKER_STATION_RATE: telemetry is 1/s; status and sessions are rare
  stationPublishBurst: 200, // EVMON_BROKER_STATION_BURST: a reconnecting station flushes its buffer
  maxAuthFailures: 10, // EVMON_BROKER_MAX_AUTH_FAILURES per minute per address or username
  authFailureWindowMs: 60_000,
}

/** What a remote address looks like to the limiter; set by the listener that accepted the socket. */
export const remoteAddresses = new WeakMap<object, string>()

const authError = (message: string, returnCode: 4 | 5): AuthenticateError =>
  Object.assign(new Error(message), { returnCode }) as AuthenticateError

interface Session {
  identity: Identity
  bucket: TokenBucket | null
  /** The credentials the login was checked against (the file may be reloaded since). */
  credentials: Credentials
}

/**
 * The aedes hooks that make the broker secure by default: authentication against the credentials
 * file, client ids bound to station identities, per-identity ACLs for publish, subscribe, retained
 * messages and wills, and the limits above. Every refusal is counted and logged; none throws.
 */
export function securityHooks(
  initial: Credentials,
  limits: SecurityLimits,
  counters: BrokerCounters,
  log: (message: string) => void,
): Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'> & {
  onConnect(client: Client): boolean
  onDisconnect(client: Client): void
  /** Switches to reloaded credentials; closes the sessions of removed or rotated accounts. */
  reload(next: Credentials): void
} {
  let credentials = initial
  const sessions = new WeakMap<Client, Session>()
  /** Open connections per account: counted for the limits, closed when the account goes. */
  const connectionsByName = new Map<string, Set<Client>>()
  const usernames = new WeakMap<Client, string>()
  /** Whether an account still holds the secret it logged in with under `against`. */
  const stillValid = (name: string, against: Credentials) =>
    against === credentials || credentials.sameSecret(name, against)
  const revoke = (client: Client, name: string) => {
    counters.sessionsRevoked++
    log(`closed: ${JSON.stringify(client.id)}, account ${JSON.stringify(name)} was removed or rotated`)
    client.close()
  }
  const failures = new FailureLimiter(limits.maxAuthFailures, limits.authFailureWindowMs)

  const deny = (client: Client | null, what: string) => {
    counters.aclDenials++
    log(`denied: client ${JSON.stringify(client?.id ?? '')} ${what}`)
  }

  return {
    authenticate(client, username, password, done) {
      const now = Date.now()
      const address = remoteAddresses.get(client.conn) ?? 'unknown'
      const name = username ?? ''
      if (failures.blocked(`addr:${address}`, now) || failures.blocked(`user:${name}`, now)) {
        counters.authFailures++
        counters.authThrottled++
        log(`refused: too many failed logins from ${address} or for ${JSON.stringify(name)}`)
        return done(authError('too many failed logins, try later', 5), false)
      }
      const refuse = (why: string, code: 4 | 5) => {
        failures.fail(`addr:${address}`, now)
        if (name) failures.fail(`user:${name}`, now)
        counters.authFailures++
        log(`refused: ${why} (client ${JSON.stringify(client.id)} from ${address})`)
        done(authError(why, code), false)
      }
      if (!username || !password) return refuse('credentials required', 4)
      const against = credentials
      against.verify(username, password.toString('utf8')).then(
        (identity) => {
          counters.authScryptChecks = credentials.slowChecks
          // The file may have been reloaded while scrypt ran: the secret must still be the account's.
          if (identity && !stillValid(username, against)) identity = null
          if (!identity) return refuse(`bad username or password for ${JSON.stringify(username)}`, 4)
          const required = requiredClientId(identity)
          if (required !== null && client.id !== required) {
            return refuse(`${username} must connect with client id ${JSON.stringify(required)}`, 5)
          }
          // The will is part of CONNECT: a will outside the identity's own topics refuses the connection.
          const will = (client as unknown as { _will?: { topic: string } })._will
          if (will && !canPublish(identity, will.topic)) {
            deny(client, `will on ${JSON.stringify(will.topic)}`)
            return refuse(`will topic ${JSON.stringify(will.topic)} not allowed for ${username}`, 5)
          }
          const open = connectionsByName.get(username)?.size ?? 0
          const max =
            identity.role === 'station' ? limits.maxConnectionsPerStation : limits.maxConnectionsPerService
          if (open >= max) {
            counters.connectionLimit++
            log(`refused: ${username} already has ${open} connections (limit ${max})`)
            return done(authError('too many connections for this identity', 5), false)
          }
          const bucket =
            identity.role === 'station'
              ? new TokenBucket(limits.stationPublishRatePerS, limits.stationPublishBurst, now)
              : null
          sessions.set(client, { identity, bucket, credentials: against })
          usernames.set(client, username)
          done(null, true)
        },
        (err: Error) => refuse(`credential check failed: ${err.message}`, 5),
      )
    },

    authorizePublish(client, packet, done) {
      // Wills reach here again when they fire; they were checked at CONNECT against the same rule.
      const session = client ? sessions.get(client) : undefined
      if (!session) return done(new Error('not authenticated'))
      if (packet.payload.length > limits.maxPayloadBytes) {
        counters.oversize++
        log(
          `dropped: ${packet.payload.length}-byte payload from ${JSON.stringify(client?.id)} (limit ${limits.maxPayloadBytes})`,
        )
        return done(new Error('payload too large'))
      }
      if (!canPublish(session.identity, packet.topic)) {
        deny(client, `publish${packet.retain ? ' (retained)' : ''} to ${JSON.stringify(packet.topic)}`)
        return done(new Error('publish not authorised'))
      }
      if (session.bucket && !session.bucket.take(Date.now())) {
        counters.rateLimited++
        log(`dropped: ${JSON.stringify(client?.id)} publishes faster than ${limits.stationPublishRatePerS}/s`)
        return done(new Error('publish rate limit exceeded'))
      }
      done(null)
    },

    authorizeSubscribe(client, subscription, done) {
      const session = sessions.get(client)
      if (!session || !canSubscribe(session.identity, subscription.topic)) {
        deny(client, `subscribe to ${JSON.stringify(subscription.topic)}`)
        // A refused subscription is answered in SUBACK (0x80) and the connection stays up.
        return done(null, null)
      }
      done(null, subscription)
    },

    onConnect(client) {
      const name = usernames.get(client)
      const session = sessions.get(client)
      if (name === undefined || session === undefined) return false
      let open = connectionsByName.get(name)
      if (!open) connectionsByName.set(name, (open = new Set()))
      open.add(client)
      // A reload between the password check and now has already passed this client by.
      if (!stillValid(name, session.credentials)) revoke(client, name)
      return true
    },

    onDisconnect(client) {
      const name = usernames.get(client)
      if (name === undefined) return
      usernames.delete(client)
      const open = connectionsByName.get(name)
      open?.delete(client)
      if (open?.size === 0) connectionsByName.delete(name)
    },

    reload(next) {
      const previous = credentials
      credentials = next
      // The counter carries on across reloads (a check still running on the old file is not counted).
      next.slowChecks += previous.slowChecks
      for (const [name, clients] of connectionsByName) {
        if (next.sameSecret(name, previous)) continue
        for (const client of clients) revoke(client, name)
      }
    },
  }
}
