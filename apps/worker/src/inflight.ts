import { randomUUID } from 'node:crypto'
import { type Keys, loadLua, type Redis, runScript } from '@ims-importer/core'

// The in-flight set of a target: the imports that may be running in IMS; a place is taken only
// below the cap, atomically, and freed places are announced. Why, and how the announcement
// works: docs/inflight.md

const LUA = new URL('./lua/', import.meta.url)
const ACQUIRE = loadLua(LUA, 'inflight-acquire')
const RELEASE = loadLua(LUA, 'inflight-release')
const PRUNE = loadLua(LUA, 'inflight-prune')
const ADD = loadLua(LUA, 'inflight-add')

export interface InflightMember {
  importId: string
  /** Redis time of the last acquire (ms). */
  since: number
}

/** Parses a message of `keys.inflightFreed(target)`: how many places, and the id of the Inflight that freed them. */
export function parseFreed(message: string): { count: number; by: string } {
  const colon = message.indexOf(':')
  return { count: Math.max(1, Number(message.slice(0, colon)) || 1), by: message.slice(colon + 1) }
}

export interface Inflight {
  /** Identifies this instance in its announcements, so that it can ignore its own. */
  readonly id: string
  /** The pub/sub channel announcing freed places of `target` (keys.inflightFreed). */
  freedChannel(target: string): string
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

/** The in-flight sets of one namespace (`keys`). */
export function createInflight(redis: Redis, keys: Keys): Inflight {
  const id = randomUUID()
  const listeners = new Set<(target: string, count: number) => void>()
  const freed = (target: string, count: number) => {
    if (count > 0) for (const l of listeners) l(target, count)
  }
  const take = async (target: string, importId: string, cap: number) =>
    Number(await runScript(redis, ACQUIRE, [keys.inflight(target)], [importId, cap]))
  return {
    id,
    freedChannel: (target) => keys.inflightFreed(target),
    acquire: async (target, importId, cap) => (await take(target, importId, cap)) >= 0,
    take,
    add: async (target, importIds) =>
      importIds.length === 0 ? 0 : Number(await runScript(redis, ADD, [keys.inflight(target)], importIds)),
    release: async (target, importId) => {
      const removed = await runScript(
        redis,
        RELEASE,
        [keys.inflight(target)],
        [importId, keys.inflightFreed(target), id],
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
          PRUNE,
          [keys.inflight(target)],
          [keys.inflightFreed(target), id, ...stale.flatMap((m) => [m.importId, String(m.since)])],
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
