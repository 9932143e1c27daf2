import { randomUUID } from 'node:crypto'
import { keys, luaScript, type Redis, runScript } from '@ims-importer/core'

/**
 * The in-flight set of a target: the imports that may be running in IMS (submitting after a
 * POST attempt, submitted, running). A submission may start only when it holds a place here,
 * and a place is taken only below the cap, in one Lua script, so the count is exact however
 * many workers race for the last place. Places are released when an import reaches a final
 * state; the reconciler recomputes the set from the store, so a crash never leaks a place for
 * long.
 *
 * Stored as a sorted set (member = import id, score = Redis time of the last acquire, ms) so
 * that the reconciler can remove a stale member only if nobody re-acquired it meanwhile.
 *
 * Freed places are announced, so that submissions waiting for one take it within milliseconds
 * (see place-waiter.ts): to this process's listeners at once, and to every process on the
 * target's `freedChannel` (published in the same script as the removal, only when a member
 * really went). The message is `<count>:<id of the Inflight that freed them>`.
 */

/** Takes a place: the number of places still free after it (>= 0), or -1 when the cap is reached. */
const ACQUIRE_SCRIPT = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return math.max(0, cap - redis.call('ZCARD', KEYS[1]))
end
local n = redis.call('ZCARD', KEYS[1])
if n < cap then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return cap - n - 1
end
return -1
`)

/** Removes one member; announces the freed place on ARGV[2] (message ARGV[3]) if it was there. */
const RELEASE_SCRIPT = luaScript(`
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed > 0 then redis.call('PUBLISH', ARGV[2], '1:' .. ARGV[3]) end
return removed
`)

/**
 * Removes members whose score is still the one the caller read (pairs of id, score, after the
 * channel and the Inflight's id); announces the freed places.
 */
const PRUNE_SCRIPT = luaScript(`
local removed = 0
for i = 3, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
if removed > 0 then redis.call('PUBLISH', ARGV[1], removed .. ':' .. ARGV[2]) end
return removed
`)

/** Adds members that are not present (the time is Redis time); returns how many were added. */
const ADD_SCRIPT = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = 0
for i = 1, #ARGV do
  added = added + redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i])
end
return added
`)

export interface InflightMember {
  importId: string
  /** Redis time of the last acquire (ms). */
  since: number
}

/** The pub/sub channel on which freed places of a target are announced (not stored data). */
export const freedChannel = (target: string) => `${keys.inflight(target)}:freed`

/** Parses a message of freedChannel: how many places, and the id of the Inflight that freed them. */
export function parseFreed(message: string): { count: number; by: string } {
  const colon = message.indexOf(':')
  return { count: Math.max(1, Number(message.slice(0, colon)) || 1), by: message.slice(colon + 1) }
}

export interface Inflight {
  /** Identifies this instance in its announcements, so that it can ignore its own. */
  readonly id: string
  /** Takes a place below the cap (or confirms one already held). False when the cap is reached. */
  acquire(target: string, importId: string, cap: number): Promise<boolean>
  /** Like acquire, and says how many places are still free after it; -1 when the cap is reached. */
  take(target: string, importId: string, cap: number): Promise<number>
  /** Records imports known to be in flight in IMS regardless of the cap (adoption, reconciler). */
  add(target: string, importIds: string[]): Promise<number>
  release(target: string, importId: string): Promise<void>
  count(target: string): Promise<number>
  members(target: string): Promise<InflightMember[]>
  /** Removes the given members unless re-acquired since they were read; returns how many went. */
  prune(target: string, stale: InflightMember[]): Promise<number>
  /** Calls `listener` after this instance freed places of a target; returns the unsubscribe. */
  onFreed(listener: (target: string, count: number) => void): () => void
}

export function createInflight(redis: Redis): Inflight {
  const id = randomUUID()
  const listeners = new Set<(target: string, count: number) => void>()
  const freed = (target: string, count: number) => {
    if (count > 0) for (const l of listeners) l(target, count)
  }
  const take = async (target: string, importId: string, cap: number) =>
    Number(await runScript(redis, ACQUIRE_SCRIPT, [keys.inflight(target)], [importId, cap]))
  return {
    id,
    acquire: async (target, importId, cap) => (await take(target, importId, cap)) >= 0,
    take,
    add: async (target, importIds) =>
      importIds.length === 0
        ? 0
        : Number(await runScript(redis, ADD_SCRIPT, [keys.inflight(target)], importIds)),
    release: async (target, importId) => {
      const removed = await runScript(
        redis,
        RELEASE_SCRIPT,
        [keys.inflight(target)],
        [importId, freedChannel(target), id],
      )
      freed(target, Number(removed))
    },
    count: (target) => redis.zcard(keys.inflight(target)),
    members: async (target) => {
      const flat = await redis.zrange(keys.inflight(target), 0, -1, 'WITHSCORES')
      const out: InflightMember[] = []
      for (let i = 0; i + 1 < flat.length; i += 2)
        out.push({ importId: flat[i] as string, since: Number(flat[i + 1]) })
      return out
    },
    prune: async (target, stale) => {
      if (stale.length === 0) return 0
      const removed = Number(
        await runScript(
          redis,
          PRUNE_SCRIPT,
          [keys.inflight(target)],
          [freedChannel(target), id, ...stale.flatMap((m) => [m.importId, String(m.since)])],
        ),
      )
      freed(target, removed)
      return removed
    },
    onFreed: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
