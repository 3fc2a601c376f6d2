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
  }
}

/**
 * Redis-backed session state and message bus: QoS 1 messages queued for an offline persistent
 * subscriber survive a broker restart, and brokers sharing one Redis act as one broker.
 */
export function redisBackends(url: string) {
  const options = redisOptions(url)
  // The persistence hands a reconnecting client at most this many queued messages (its default is
  // 1,000, which would strand the rest of an ingest outage's backlog until the next reconnect).
  const persistence = aedesPersistenceRedis({ ...options, maxSessionDelivery: 10_000_000 })
  const mq = mqemitterRedis(options)
  return {
    persistence,
    mq,
    /** aedes closes the emitter itself; the persistence's connections are ours to close. */
    destroy: () => persistence.destroy(),
  }
}
