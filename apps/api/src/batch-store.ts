import type { ImportRecord, Keys, Redis } from '@ims-importer/core'
import { z } from 'zod'
import { compactItemErrors, expandItemErrors, type ItemErrorGroup } from './item-errors.js'
import { FieldError } from './problem.js'
import { type BatchWaiting, ItemErrors } from './schemas.js'

/** One batch as stored at keys.batch(id); its import ids live in keys.batchImports(id), scored by item index. */
export const BatchRecord = z.object({
  id: z.string(),
  tenant: z.string(),
  external_id: z.string().nullable(),
  created_at: z.string(),
  accepted: z.number().int(),
  rejected: z.array(ItemErrors),
})
export type BatchRecord = z.infer<typeof BatchRecord>

/**
 * A batch as written: its rejected items in groups (item-errors.ts), so refused items cost their
 * distinct errors once; batches written by earlier releases carry `rejected` whole.
 */
const StoredBatch = BatchRecord.omit({ rejected: true }).extend({
  rejected: z.array(ItemErrors).optional(),
  rejected_groups: z.array(z.tuple([z.string(), z.array(FieldError)])).optional(),
})

const toStored = ({ rejected, ...batch }: BatchRecord): string =>
  JSON.stringify({
    ...BatchRecord.parse({ ...batch, rejected: [] }),
    rejected: undefined,
    rejected_groups: compactItemErrors(rejected),
  })

function fromStored(raw: string): BatchRecord {
  const { rejected, rejected_groups, ...batch } = StoredBatch.parse(JSON.parse(raw))
  return {
    ...batch,
    rejected: rejected_groups ? expandItemErrors(rejected_groups as ItemErrorGroup[]) : (rejected ?? []),
  }
}

export interface BatchStore {
  /**
   * Writes the batch, the tenant's index of batches and its imports' submit-outbox entries (core
   * submit-outbox.ts) in one MULTI: no import of a batch reaches a worker before its batch
   * exists. The batch's index of imports is written with the import records (admission, scored by
   * each NewImport's batch_index). Throws when a command fails; a MULTI is not rolled back, so the
   * others may have run (entries pushed): the route's undo withdraws them.
   */
  create(batch: BatchRecord, outboxEntries: readonly string[]): Promise<void>
  get(id: string): Promise<BatchRecord | null>
  /** Whether the batch is in the tenant's index of batches: one lookup, whoever the batch's tenant. */
  owns(tenant: string, id: string): Promise<boolean>
  /** Import ids of a batch in item order, from item index `after + 1`, at most `limit`. */
  items(id: string, after: number, limit: number): Promise<{ index: number; importId: string }[]>
  /**
   * The same, only imports now in `status`: the batch's index intersected with the status index
   * (Redis walks the smaller set, the batch's: at most 1000 ids).
   */
  itemsInStatus(
    id: string,
    status: string,
    after: number,
    limit: number,
  ): Promise<{ index: number; importId: string }[]>
  /** Undoes create (used when the imports could not be written or queued). */
  remove(batch: BatchRecord): Promise<void>
}

/** [member, score, member, score, ...] as entries. */
function withScores(flat: string[]): { index: number; importId: string }[] {
  const out: { index: number; importId: string }[] = []
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push({ importId: flat[i] as string, index: Number(flat[i + 1]) })
  return out
}

/**
 * The batch view's `waiting`: queued imports whose target paused their submission, grouped by
 * target, reason and code (earliest `since`, latest message).
 */
export function summariseWaiting(
  records: readonly (Pick<ImportRecord, 'status' | 'target' | 'waiting'> | null)[],
): BatchWaiting {
  const groups = new Map<string, BatchWaiting['reasons'][number]>()
  let count = 0
  for (const r of records) {
    const w = r?.status === 'queued' ? r.waiting : null
    if (!r || !w) continue
    count++
    const key = JSON.stringify([r.target, w.reason, w.code])
    const g = groups.get(key)
    if (!g) groups.set(key, { ...w, target: r.target, count: 1 })
    else {
      g.count++
      if (w.since < g.since) g.since = w.since
      else g.message = w.message
    }
  }
  return { count, reasons: [...groups.values()] }
}

export function createBatchStore(redis: Redis, keys: Keys): BatchStore {
  return {
    async create(batch, outboxEntries) {
      const multi = redis.multi()
      multi.set(keys.batch(batch.id), toStored(batch), 'NX')
      multi.zadd(keys.tenantBatches(batch.tenant), Date.parse(batch.created_at), batch.id)
      if (outboxEntries.length > 0) multi.rpush(keys.submitOutbox, ...outboxEntries)
      const results = await multi.exec()
      const failed = results?.find(([err]) => err)
      if (!results || failed) throw failed?.[0] ?? new Error('batch create: transaction aborted')
    },
    async get(id) {
      const raw = await redis.get(keys.batch(id))
      return raw === null ? null : fromStored(raw)
    },
    async owns(tenant, id) {
      return (await redis.zscore(keys.tenantBatches(tenant), id)) !== null
    },
    async items(id, after, limit) {
      const flat = await redis.zrangebyscore(
        keys.batchImports(id),
        `(${after}`,
        '+inf',
        'WITHSCORES',
        'LIMIT',
        0,
        limit,
      )
      return withScores(flat)
    },
    async itemsInStatus(id, status, after, limit) {
      // Scores: the item index (weight 0 on the status index's creation times), so in item order.
      const flat = await redis.zinter(
        2,
        keys.batchImports(id),
        keys.statusImports(status),
        'WEIGHTS',
        1,
        0,
        'WITHSCORES',
      )
      return withScores(flat)
        .filter((e) => e.index > after)
        .slice(0, limit)
    },
    async remove(batch) {
      await redis
        .multi()
        .del(keys.batch(batch.id), keys.batchImports(batch.id))
        .zrem(keys.tenantBatches(batch.tenant), batch.id)
        .exec()
    },
  }
}
