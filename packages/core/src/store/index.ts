import { ImportStatus } from '../import-record.js'
import { keys as defaultKeys } from '../keys.js'
import type { Redis } from '../redis.js'
import { createMany } from './create.js'
import { DEFAULT_SCAN_BUDGET, listImports } from './list.js'
import { getImport, getImports } from './read.js'
import { removeImport } from './remove.js'
import { DEFAULT_RETENTION_MS, retainUnexpiring, sweepExpired } from './retention.js'
import { transitionImport, updateImport } from './transition.js'
import type { ImportStore, ImportStoreOptions, StoreContext } from './types.js'

export * from './admit.js'
export * from './errors.js'
export {
  batchRetentionMember,
  DEFAULT_RETENTION_MS,
  importRetentionMember,
} from './retention.js'
export type { ImportPage, ImportStore, ImportStoreOptions, ListImportsQuery } from './types.js'

const DEFAULT_IDS_BY_STATUS_LIMIT = 1000
/** Records and batches one sweep removes at most, and final records per status it backfills. */
const DEFAULT_SWEEP_LIMIT = 20_000
const DEFAULT_BACKFILL = 2_000

function emptyCounts(): Record<ImportStatus, number> {
  return Object.fromEntries(ImportStatus.options.map((s) => [s, 0])) as Record<ImportStatus, number>
}

/**
 * The Redis-backed import store. Records are JSON strings under `keys.import(id)`; indexes are
 * sorted sets scored by creation time (ms). Writes are Lua scripts (../lua), so a record and its
 * indexes always change together, and a transition is a compare-and-set on `version`.
 */
export function createImportStore(redis: Redis, options: ImportStoreOptions = {}): ImportStore {
  const ctx: StoreContext = {
    redis,
    keys: options.keys ?? defaultKeys,
    retentionMs: options.retentionMs ?? DEFAULT_RETENTION_MS,
  }
  const { keys } = ctx
  const scanBudget = options.listScanBudget ?? DEFAULT_SCAN_BUDGET
  return {
    keys,
    async create(input, now) {
      const [record] = await createMany(ctx, [input], now)
      if (!record) throw new Error('unreachable: createMany returned no record')
      return record
    },
    createMany: (inputs, now) => createMany(ctx, inputs, now),
    get: (id) => getImport(ctx, id),
    getMany: (ids) => getImports(ctx, ids),
    transition: (id, to, patch, opts) => transitionImport(ctx, id, to, patch, opts),
    update: (id, fn, opts) => updateImport(ctx, id, fn, opts),
    list: (query) => listImports(ctx, query, scanBudget),
    async idsByStatus(status, limit = DEFAULT_IDS_BY_STATUS_LIMIT, offset = 0) {
      if (limit <= 0) return []
      return redis.zrange(keys.statusImports(status), offset, offset + limit - 1)
    },
    async countByStatusForBatch(batchId) {
      const raw = await redis.hgetall(keys.batchStatusCounts(batchId))
      const counts = emptyCounts()
      for (const status of ImportStatus.options) counts[status] = Number(raw[status] ?? 0)
      return counts
    },
    remove: (id) => removeImport(ctx, id),
    async sweepRetention({ limit = DEFAULT_SWEEP_LIMIT, backfill = DEFAULT_BACKFILL } = {}) {
      // Backfill first: a record from before retention that is already due goes in this sweep.
      const retained = await retainUnexpiring(ctx, backfill)
      const expired = await sweepExpired(ctx, limit)
      return { expired, retained }
    },
  }
}
