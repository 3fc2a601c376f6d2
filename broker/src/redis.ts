import aedesPersistenceRedis from 'aedes-persistence-redis'
import mqemitterRedis from 'mqemitter-redis'

/** ioredis options from a `redis://[user:password@]host:port[/db]` URL. */
export function redisOptions(url: string): Record<string, unknown> {
  const parsed = new URL(url)
  if (parsed.protocol !== 'redis:')
    throw new Error(`EVMON_REDIS_URL must be redis://…, got ${parsed.protocol}`)
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    db,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    // While Redis restarts, commands wait for it instead of failing after 20 reconnect attempts: a
    // failed write of a queued message would be an error aedes cannot recover from. Publishers get no
    // PUBACK meanwhile, so they hold their messages and the pause is back-pressure, not loss.
    maxRetriesPerRequest: null,
  }
}

/**
 * Redis-backed session state: subscriptions, retained messages and the QoS 1 messages queued or in
 * flight for each persistent subscriber survive a broker restart (aedes writes a message into every
 * persistent subscriber's queue before it acknowledges the publish). With `cluster`, messages also
 * travel between brokers over Redis pub/sub, so brokers sharing one Redis act as one broker; a single
 * broker keeps the in-process bus, because pub/sub messages sent while Redis restarts are lost.
 */
export function redisBackends(url: string, cluster: boolean) {
  const options = redisOptions(url)
  // The persistence hands a reconnecting client at most this many queued messages (its default is
  // 1,000, which would strand the rest of an ingest outage's backlog until the next reconnect).
  const persistence = aedesPersistenceRedis({ ...options, maxSessionDelivery: 10_000_000 })
  return {
    persistence,
    ...(cluster ? { mq: mqemitterRedis(options) } : {}),
    /** aedes closes the emitter itself; the persistence's connections are ours to close. */
    destroy: () => persistence.destroy(),
  }
}
