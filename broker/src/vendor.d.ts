// The Redis persistence and emitter ship no type definitions; these cover what evmon uses.
declare module 'aedes-persistence-redis' {
  interface RedisPersistence {
    /** Without a callback it returns a promise (aedes-persistence's CallBackPersistence). */
    destroy(): Promise<void>
  }
  export default function aedesPersistenceRedis(options: Record<string, unknown>): RedisPersistence
}

declare module 'mqemitter-redis' {
  interface RedisEmitter {
    close(cb: () => void): void
  }
  export default function mqemitterRedis(options: Record<string, unknown>): RedisEmitter
}
