import aedesPersistenceRedis from 'aedes-persistence-redis'
import { Redis, type RedisKey } from 'ioredis'
import mqemitterRedis from 'mqemitter-redis'

/** ioredis options from a `redis://[user:password@]host:port[/db]` URL. */
function redisOptions(url: string): Record<string, unknown> {
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
export function redisBackends(url: string, cluster: boolean, log: (line: string) => void) {
  const options = redisOptions(url)
  // The persistence hands a reconnecting client at most this many queued messages (its default is
  // 1,000, which would strand the rest of an ingest outage's backlog until the next reconnect).
  // aedes' persistence awaits each Redis command in turn (about ten per queued QoS 1 message), so
  // without pipelining every command is a socket write and a round trip of its own; auto-pipelining sends
  // the commands issued in one event-loop turn, across all the messages in flight, as one write. Order is
  // kept: a pipeline runs its commands in the order they were issued.
  const conn = new Redis({ ...options, enableAutoPipelining: true })
  // An acknowledged message leaves its subscriber's queue (a Redis list) by LREM with count 0, which
  // scans the whole list for every acknowledgement: with ingest tens of thousands of messages behind
  // after an outage, the drain turned quadratic. A message sits in the list once per delivery and
  // acknowledgements come nearly in queue order, so removing the first match from the head is the
  // same result at the cost of the distance from the head.
  const lrem = conn.lrem.bind(conn)
  conn.lrem = ((key: RedisKey, count: number | string, element: string | Buffer | number) =>
    lrem(key, Number(count) === 0 ? 1 : count, element)) as typeof conn.lrem
  // ioredis reconnects by itself and holds the commands meanwhile: say so once per outage.
  let down = false
  conn.on('error', (err: Error) => {
    if (!down) log(`Redis unreachable, writes wait for it: ${err.message}`)
    down = true
  })
  conn.on('ready', () => {
    if (down) log('Redis reachable again')
    down = false
  })
  const persistence = aedesPersistenceRedis({ conn, maxSessionDelivery: 10_000_000 })
  return {
    persistence,
    ...(cluster ? { mq: mqemitterRedis(options) } : {}),
    /** aedes closes the emitter itself; the persistence (and with it the connection) is ours to close. */
    destroy: () => persistence.destroy(),
  }
}
