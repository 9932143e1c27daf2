import { Redis, type RedisOptions } from 'ioredis'

export type { Redis }

export interface RedisConnectionOptions {
  /**
   * For request paths (API): fail fast when Redis is away instead of queueing commands
   * offline, so a caller gets a 503 within a second. Workers use the BullMQ-friendly
   * defaults (retry forever, `maxRetriesPerRequest: null`).
   */
  failFast?: boolean
  connectionName?: string
}

export function createRedis(url: string, options: RedisConnectionOptions = {}): Redis {
  const base: RedisOptions = {
    connectionName: options.connectionName,
    // Reconnect forever, backing off to 2 s: Redis coming back must be picked up without a restart.
    retryStrategy: (times) => Math.min(100 * times, 2000),
  }
  const opts: RedisOptions = options.failFast
    ? {
        ...base,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        connectTimeout: 1000,
        commandTimeout: 1000,
      }
    : { ...base, maxRetriesPerRequest: null }
  return new Redis(url, opts)
}
