/**
 * The persistent contract between every process and the data already in Redis.
 *
 * Queue names, the key layout and job ids below are read back by processes started later
 * (after a deploy, a crash or a scale-out). Renaming any of them strands what Redis already
 * holds: records would not be found, queued jobs would never run. Change them only with a
 * migration.
 *
 * Every key starts with one hash tag, `{ims}`, so that all of them live in one Redis Cluster
 * slot: multi-key Lua scripts and MULTI/EXEC keep working on a cluster.
 */
export const KEY_PREFIX = '{ims}'

/** BullMQ's `prefix` option; BullMQ appends `:<queue>:<suffix>`. */
export const BULL_PREFIX = `${KEY_PREFIX}:bull`

/** A target name is part of queue names and keys: keep it to a safe alphabet. */
export const TARGET_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/

export const queueNames = {
  /** One submit queue per target, so one region's throttling never slows another. */
  submit: (target: string) => `submit-${target}`,
  /** One poll queue per target. */
  poll: (target: string) => `poll-${target}`,
  /** Callback deliveries, shared by all targets. */
  callback: 'callback',
  /** The reconciler's job scheduler. */
  reconcile: 'reconcile',
} as const

/** BullMQ custom job ids may not contain ':'. One submit job and one poll job per import. */
export const jobIds = {
  submit: (importId: string) => `submit-${importId}`,
  poll: (importId: string) => `poll-${importId}`,
  callback: (importId: string) => `callback-${importId}`,
} as const

export const keys = {
  /** JSON of one import record. */
  import: (id: string) => `${KEY_PREFIX}:import:${id}`,
  /** Sorted set of a tenant's import ids, scored by creation time (ms). */
  tenantImports: (tenant: string) => `${KEY_PREFIX}:tenant:${tenant}:imports`,
  /** Sorted set of import ids in one status, scored by creation time (ms); all tenants. */
  statusImports: (status: string) => `${KEY_PREFIX}:status:${status}:imports`,
  /** Sorted set of a tenant's import ids in one status, scored by creation time (ms). */
  tenantStatusImports: (tenant: string, status: string) =>
    `${KEY_PREFIX}:tenant:${tenant}:status:${status}:imports`,
  /** Sorted set of a tenant's import ids carrying one external_id, scored by creation time (ms). */
  tenantExternalImports: (tenant: string, externalId: string) =>
    `${KEY_PREFIX}:tenant:${tenant}:external:${externalId}:imports`,
  /** Hash status -> number of the batch's imports currently in that status. */
  batchStatusCounts: (batchId: string) => `${KEY_PREFIX}:batch:${batchId}:status-counts`,
  /** Sorted set of a batch's import ids, scored by item index. */
  batchImports: (batchId: string) => `${KEY_PREFIX}:batch:${batchId}:imports`,
  /** JSON of one batch. */
  batch: (id: string) => `${KEY_PREFIX}:batch:${id}`,
  /** Sorted set of a tenant's batch ids, scored by creation time (ms). */
  tenantBatches: (tenant: string) => `${KEY_PREFIX}:tenant:${tenant}:batches`,
  /** Idempotency key record: tenant-scoped. */
  idempotency: (tenant: string, key: string) => `${KEY_PREFIX}:idem:${tenant}:${key}`,
  /** Sorted set of import ids holding an in-flight place for a target, scored by acquire time (ms). */
  inflight: (target: string) => `${KEY_PREFIX}:inflight:${target}`,
  /** Per-API-key request rate limiter state (GCRA). */
  apiRate: (keyId: string) => `${KEY_PREFIX}:api-rate:${keyId}`,
  /** Sorted set used as the sliding-window submit gate of a target (member = unique token, score = ms). */
  submitWindow: (target: string) => `${KEY_PREFIX}:submit-window:${target}`,
} as const

/** The image tag that carries the import id, so an image can be found after an uncertain POST. */
export const MARKER_TAG_KEY = 'ims_importer_id'
