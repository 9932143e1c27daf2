import type { Redis } from '@ims-importer/core'

/** A Lua script bound to a connection: call with its keys, then its arguments. */
export type RedisScript = (...keysAndArgs: (string | number)[]) => Promise<unknown>

/**
 * Defines `lua` as a command of `redis` (ioredis defineCommand): the full text goes to Redis once
 * per connection (EVAL the first time), every later call is EVALSHA, and a server that lost its
 * script cache (restart, SCRIPT FLUSH) is sent the text again by ioredis itself.
 */
export function defineScript(redis: Redis, name: string, numberOfKeys: number, lua: string): RedisScript {
  redis.defineCommand(name, { numberOfKeys, lua })
  const command = (redis as unknown as Record<string, RedisScript>)[name]
  if (typeof command !== 'function') throw new Error(`redis script ${name} was not defined`)
  return (...keysAndArgs) => command.apply(redis, keysAndArgs)
}
