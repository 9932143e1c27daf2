/**
 * The persistent contract between every process and the data already in Redis.
 *
 * Queue names, the key layout and job ids below are read back by processes started later
 * (after a deploy, a crash or a scale-out). Renaming any of them strands what Redis already
 * holds: records would not be found, queued jobs would never run. Change them only with a
 * migration.
 *
 * Every key starts with one prefix, a Redis Cluster hash tag (`{ims}` by default), so that all
 * of them live in one cluster slot: multi-key Lua scripts and MULTI/EXEC keep working on a
 * cluster. The prefix is a parameter (REDIS_KEY_PREFIX) so that several services, or every
 * test file, can share one Redis without seeing each other's data; production keeps `{ims}`.
 */
export const DEFAULT_KEY_PREFIX = '{ims}'

/** The default namespace's prefix; kept for readers of the persistent layout. */
export const KEY_PREFIX = DEFAULT_KEY_PREFIX

/** A prefix is one hash tag: `{`, 1 to 64 safe characters, `}`. */
export const KEY_PREFIX_PATTERN = /^\{[A-Za-z0-9_.:-]{1,64}\}$/

/** A target name is part of queue names and keys: keep it to a safe alphabet. */
export const TARGET_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,39}$/

export const queueNames = {
  /** One submit queue per target, so one region's throttling never slows another. */
  submit: (target: string) => `submit-${target}`,
  /** One poll queue per target. */
  poll: (target: string) => `poll-${target}`,
  /** Callback deliveries, shared by all targets (of one namespace). */
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

/** Every Redis key (and pub/sub channel) of one namespace. */
export function createKeys(prefix: string = DEFAULT_KEY_PREFIX) {
  if (!KEY_PREFIX_PATTERN.test(prefix))
    throw new Error(`key prefix must be a Redis hash tag like {ims} (1 to 64 of A-Z a-z 0-9 _ . : -)`)
  const p = prefix
  return {
    prefix: p,
    /** BullMQ's `prefix` option; BullMQ appends `:<queue>:<suffix>`. */
    bullPrefix: `${p}:bull`,
    /** JSON of one import record. */
    import: (id: string) => `${p}:import:${id}`,
    /** Sorted set of a tenant's import ids, scored by creation time (ms). */
    tenantImports: (tenant: string) => `${p}:tenant:${tenant}:imports`,
    /** Sorted set of import ids in one status, scored by creation time (ms); all tenants. */
    statusImports: (status: string) => `${p}:status:${status}:imports`,
    /** Sorted set of a tenant's import ids in one status, scored by creation time (ms). */
    tenantStatusImports: (tenant: string, status: string) => `${p}:tenant:${tenant}:status:${status}:imports`,
    /**
     * Sorted set of a tenant's import ids in one target, scored by creation time (ms): serves
     * `GET /v1/imports?target=` (written since issue 16; imports accepted before are not in it).
     */
    tenantTargetImports: (tenant: string, target: string) => `${p}:tenant:${tenant}:target:${target}:imports`,
    /** Sorted set of a tenant's import ids carrying one external_id, scored by creation time (ms). */
    tenantExternalImports: (tenant: string, externalId: string) =>
      `${p}:tenant:${tenant}:external:${externalId}:imports`,
    /** Hash status -> number of the batch's imports currently in that status. */
    batchStatusCounts: (batchId: string) => `${p}:batch:${batchId}:status-counts`,
    /** Sorted set of a batch's import ids, scored by item index. */
    batchImports: (batchId: string) => `${p}:batch:${batchId}:imports`,
    /** JSON of one batch. */
    batch: (id: string) => `${p}:batch:${id}`,
    /** Sorted set of a tenant's batch ids, scored by creation time (ms). */
    tenantBatches: (tenant: string) => `${p}:tenant:${tenant}:batches`,
    /** Idempotency key record: tenant-scoped. */
    idempotency: (tenant: string, key: string) => `${p}:idem:${tenant}:${key}`,
    /** Sorted set of import ids holding an in-flight place for a target, scored by acquire time (ms). */
    inflight: (target: string) => `${p}:inflight:${target}`,
    /** Pub/sub channel announcing freed in-flight places of a target. */
    inflightFreed: (target: string) => `${p}:inflight:${target}:freed`,
    /** Per-API-key request rate limiter state (GCRA). */
    apiRate: (keyId: string) => `${p}:api-rate:${keyId}`,
    /**
     * List of a target's recent import durations (ms), ms per byte, or `<bytes>:<ms>` pairs,
     * newest first (the worker's duration model); bucket: a size bucket, `any`, `d-per-byte` /
     * `f-per-byte`, or `d-size-ms` / `f-size-ms` (the pairs, since issue 15).
     */
    durationModel: (target: string, bucket: string) => `${p}:duration-model:${target}:${bucket}`,
    /** Sorted set used as the sliding-window submit gate of a target (member = unique token, score = ms). */
    submitWindow: (target: string) => `${p}:submit-window:${target}`,
    /** Hash (ms, at): the widening of a target's submit-gate margin after a 429, beside its window log. */
    submitMarginWidening: (target: string) => `${p}:submit-window:${target}:widening`,
    /**
     * Hash of a target's private-image quota as last read from IMS (quota, used, readAt) and its
     * pause state (pausedSince, refusedAt, refusedMessage, failedAt); docs/image-quota.md.
     */
    imageQuota: (target: string) => `${p}:image-quota:${target}`,
    /**
     * Sorted set of a target's imports whose image IMS may not count in `used` yet (member =
     * import id, score = Redis ms after which a quota read counts it).
     */
    imageQuotaPending: (target: string) => `${p}:image-quota:${target}:pending`,
    /** String held (PX) by the worker that reads a target's quota now: one read per cadence. */
    imageQuotaRead: (target: string) => `${p}:image-quota:${target}:read`,
    /** Sorted set used as the sliding window of a target's job-status GETs (member = unique token, score = ms). */
    pollWindow: (target: string) => `${p}:poll-window:${target}`,
    /**
     * Sorted set of what retention removes and when (docs/retention.md): member = JSON naming a
     * final import and its index entries (`["i", id, tenant, status, batch_id, external_id, target]`) or a
     * batch (`["b", id, tenant]`), score = when it expires (epoch ms).
     */
    retention: `${p}:retention`,
    /** Hash status -> `score:seen`, where the retention sweep's pass over a final status set is. */
    retentionBackfill: `${p}:retention:backfill`,
    /**
     * List of imports admitted but not yet on their target's submit queue (`<target> <import id>`,
     * oldest first): written by the intake's admission script with the records, moved onto the
     * submit queues by the workers (docs/intake-admission.md). Added in issue 14.
     */
    submitOutbox: `${p}:submit-outbox`,
    /** Failed authentications from one client address in the current window (INCR, PX window). */
    authFailures: (address: string) => `${p}:auth-failures:${address}`,
  } as const
}

/** The keys of one namespace (createKeys). */
export type Keys = ReturnType<typeof createKeys>

/** The default namespace (`{ims}`): what production uses. */
export const keys: Keys = createKeys(DEFAULT_KEY_PREFIX)

/** BullMQ's `prefix` option of the default namespace. */
export const BULL_PREFIX = keys.bullPrefix

/** The image tag that carries the import id, so an image can be found after an uncertain POST. */
export const MARKER_TAG_KEY = 'ims_importer_id'
