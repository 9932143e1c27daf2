import { jobIds, type Keys } from './keys.js'
import { enqueueSubmitBulk, type Queues } from './queues.js'
import type { Redis } from './redis.js'

/*
 * The submit outbox: the intake's admission script writes each new record and its entry here in
 * one step, so an accepted import is queued the moment it is recorded (no record without its
 * submit work, and no BullMQ call on the intake's path). Workers move the entries onto the
 * targets' submit queues (drainSubmitOutbox). Why: docs/intake-admission.md.
 */

/** One entry: the target and the import id, space-separated (neither can hold a space). */
export const outboxEntry = (target: string, importId: string): string => `${target} ${importId}`

/** The target and import id of an entry; null for text that is not one. */
export function parseOutboxEntry(entry: string): { target: string; importId: string } | null {
  const space = entry.indexOf(' ')
  if (space <= 0 || space === entry.length - 1) return null
  return { target: entry.slice(0, space), importId: entry.slice(space + 1) }
}

export interface DrainStep {
  /** Entries moved onto the submit queues. */
  moved: number
  /** Entries that were not entries (dropped). */
  malformed: string[]
}

/**
 * One step of a drainer: waits up to `blockS` seconds for entries on `blocking` (a connection of
 * its own: BLMPOP holds it), takes up to `count`, and adds their submit jobs in one addBulk per
 * target (job ids are the imports': adding one twice keeps one). When the add fails the entries
 * go back to the head of the outbox, in order, and the error is thrown. A drainer that dies
 * between the two leaves its imports `queued` without a job: the reconciler enqueues them.
 */
export async function drainSubmitOutbox(
  blocking: Redis,
  redis: Redis,
  queues: Queues,
  options: { count: number; blockS: number },
): Promise<DrainStep> {
  const { keys } = queues
  const popped = (await blocking.call(
    'BLMPOP',
    options.blockS,
    1,
    keys.submitOutbox,
    'LEFT',
    'COUNT',
    options.count,
  )) as [string, string[]] | null
  const taken: string[] = []
  const items: { target: string; importId: string }[] = []
  const malformed: string[] = []
  for (const entry of popped?.[1] ?? []) {
    const item = parseOutboxEntry(entry)
    if (item) {
      items.push(item)
      taken.push(entry)
    } else malformed.push(entry)
  }
  if (items.length === 0) return { moved: 0, malformed }
  try {
    await enqueueSubmitBulk(queues, items)
  } catch (err) {
    await redis.lpush(keys.submitOutbox, ...taken.reverse())
    throw err
  }
  return { moved: items.length, malformed }
}

/**
 * Takes back the submit work of an import that will not be submitted (cancelled while queued):
 * its outbox entry, then its job. A drainer that took the entry just before adds a job that the
 * worker drops (the import is final).
 */
export async function withdrawSubmit(
  redis: Redis,
  queues: Queues,
  target: string,
  importId: string,
): Promise<void> {
  await redis.lrem(queues.keys.submitOutbox, 0, outboxEntry(target, importId))
  await queues.submit(target).remove(jobIds.submit(importId))
}

/**
 * The import ids in the outbox (not yet on a submit queue), reading at most `limit` entries;
 * null when it holds more (the reconciler then checks nothing against it).
 */
export async function outboxImportIds(redis: Redis, keys: Keys, limit: number): Promise<Set<string> | null> {
  const entries = await redis.lrange(keys.submitOutbox, 0, limit)
  if (entries.length > limit) return null
  return new Set(entries.map((e) => parseOutboxEntry(e)?.importId).filter((id): id is string => !!id))
}
