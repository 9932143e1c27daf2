import { jobIds } from '../keys.js'
import type { Queues } from '../queues.js'
import type { Redis } from '../redis.js'
import { outboxEntry, parseOutboxEntry } from '../submit-outbox.js'

/*
 * An accepted import's submit work is its submit-outbox entry until a worker's drainer moves it,
 * then its job (docs/intake-admission.md): what tests without a worker count.
 */

/** The import ids of a target's entries in the outbox, in order (repeats kept). */
export async function outboxedImports(redis: Redis, queues: Queues, target: string): Promise<string[]> {
  const entries = await redis.lrange(queues.keys.submitOutbox, 0, -1)
  return entries.flatMap((e) => {
    const item = parseOutboxEntry(e)
    return item?.target === target ? [item.importId] : []
  })
}

/**
 * How much submit work a target has waiting: its entries in the outbox plus its submit jobs
 * (waiting, delayed, active or prioritized).
 */
export async function submitWorkCount(redis: Redis, queues: Queues, target: string): Promise<number> {
  const counts = await queues.submit(target).getJobCounts('waiting', 'delayed', 'active', 'prioritized')
  const outboxed = (await outboxedImports(redis, queues, target)).length
  return Object.values(counts).reduce((a, b) => a + b, outboxed)
}

/** Whether an import has submit work waiting: its outbox entry, or its job. */
export async function hasSubmitWork(
  redis: Redis,
  queues: Queues,
  target: string,
  importId: string,
): Promise<boolean> {
  if ((await redis.lpos(queues.keys.submitOutbox, outboxEntry(target, importId))) !== null) return true
  return Boolean(await queues.submit(target).getJob(jobIds.submit(importId)))
}
