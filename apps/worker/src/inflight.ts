import { keys, type Redis } from '@ims-importer/core'

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
 */
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return 1
end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[1])
  return 1
end
return 0
`

/** Removes members whose score is still the one the caller read (pairs of id, score). */
const PRUNE_SCRIPT = `
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
`

/** Adds members that are not present (the time is Redis time); returns how many were added. */
const ADD_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = 0
for i = 1, #ARGV do
  added = added + redis.call('ZADD', KEYS[1], 'NX', now, ARGV[i])
end
return added
`

export interface InflightMember {
  importId: string
  /** Redis time of the last acquire (ms). */
  since: number
}

export interface Inflight {
  /** Takes a place below the cap (or confirms one already held). False when the cap is reached. */
  acquire(target: string, importId: string, cap: number): Promise<boolean>
  /** Records imports known to be in flight in IMS regardless of the cap (adoption, reconciler). */
  add(target: string, importIds: string[]): Promise<number>
  release(target: string, importId: string): Promise<void>
  count(target: string): Promise<number>
  members(target: string): Promise<InflightMember[]>
  /** Removes the given members unless re-acquired since they were read; returns how many went. */
  prune(target: string, stale: InflightMember[]): Promise<number>
}

export function createInflight(redis: Redis): Inflight {
  return {
    acquire: async (target, importId, cap) =>
      (await redis.eval(ACQUIRE_SCRIPT, 1, keys.inflight(target), importId, cap)) === 1,
    add: async (target, importIds) =>
      importIds.length === 0
        ? 0
        : Number(await redis.eval(ADD_SCRIPT, 1, keys.inflight(target), ...importIds)),
    release: async (target, importId) => {
      await redis.zrem(keys.inflight(target), importId)
    },
    count: (target) => redis.zcard(keys.inflight(target)),
    members: async (target) => {
      const flat = await redis.zrange(keys.inflight(target), 0, -1, 'WITHSCORES')
      const out: InflightMember[] = []
      for (let i = 0; i + 1 < flat.length; i += 2)
        out.push({ importId: flat[i] as string, since: Number(flat[i + 1]) })
      return out
    },
    prune: async (target, stale) =>
      stale.length === 0
        ? 0
        : Number(
            await redis.eval(
              PRUNE_SCRIPT,
              1,
              keys.inflight(target),
              ...stale.flatMap((m) => [m.importId, String(m.since)]),
            ),
          ),
  }
}
