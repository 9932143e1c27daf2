import { randomUUID } from 'node:crypto'
import { type Keys, loadLua, type Queues, type Redis, runScript } from '@ims-importer/core'
import type { Inflight } from './inflight.js'
import type { PollBudget } from './poll-planner.js'

// The budget of a target's job-status GETs, shared by every worker: a sliding-window log in
// Redis stamped with Redis time (like the submit gate), so polls never provoke IMS's 429s. A
// poll unlikely to find its job ended leaves a reserve of the window to polls likely to; the
// rule and why: docs/poll-planner.md, "The poll budget".

const GATE = loadLua(new URL('./lua/', import.meta.url), 'poll-gate')

/** The sliding window of job-status GETs: `limits.pollRate` per second. */
export const POLL_WINDOW_MS = 1000
/**
 * Each window is enforced this much longer: a GET reaches IMS a little after its admission
 * (the event loop, the connection), unevenly, and two GETs admitted a window apart must not
 * arrive closer than a window.
 */
export const POLL_WINDOW_MARGIN_MS = 100

export interface PollGateResult {
  admitted: boolean
  /** The window as it stood before this poll: GETs left, the limit, the window. */
  budget: PollBudget
}

export interface PollGate {
  /**
   * Takes one GET of the target's window if more than `reserve` GETs are left (admitPoll's
   * rule: reserve = capacity × budgetReserve × (1 − finishChance)).
   */
  take(target: string, limit: number, reserve: number): Promise<PollGateResult>
}

export function createPollGate(redis: Redis, keys: Keys): PollGate {
  return {
    async take(target, limit, reserve) {
      const reply = (await runScript(
        redis,
        GATE,
        [keys.pollWindow(target)],
        [limit, POLL_WINDOW_MS + POLL_WINDOW_MARGIN_MS, randomUUID(), Math.max(0, reserve)],
      )) as [number, number, number]
      return {
        admitted: Number(reply[0]) === 1,
        budget: { available: Math.max(0, Number(reply[1])), capacity: limit, windowMs: POLL_WINDOW_MS },
      }
    },
  }
}

/**
 * Whether imports wait for a place on a target: its cap is full, or submissions wait in its
 * queue. Then a second of detection latency is a second of IMS capacity, and the planner polls
 * tighter. Read at most once per `everyMs` per target in this process (two round trips).
 */
export function createPlaceDemand(
  deps: { queues: Queues; inflight: Inflight; caps: ReadonlyMap<string, number> },
  everyMs = 1000,
): (target: string) => Promise<boolean> {
  const cache = new Map<string, { at: number; value: Promise<boolean> }>()
  return (target) => {
    const hit = cache.get(target)
    const now = Date.now()
    if (hit && now - hit.at < everyMs) return hit.value
    const value = (async () => {
      const [held, counts] = await Promise.all([
        deps.inflight.count(target),
        deps.queues.submit(target).getJobCounts('waiting', 'prioritized'),
      ])
      const cap = deps.caps.get(target) ?? Number.POSITIVE_INFINITY
      return held >= cap || (counts.waiting ?? 0) + (counts.prioritized ?? 0) > 0
    })().catch(() => true)
    cache.set(target, { at: now, value })
    return value
  }
}
