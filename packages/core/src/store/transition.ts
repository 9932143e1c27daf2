import {
  transition as applyTransition,
  type ImportPatch,
  type ImportRecord,
  type ImportStatus,
  isFinal,
} from '../import-record.js'
import { runScript } from '../redis.js'
import { CorruptImportRecordError, ImportNotFoundError, VersionConflictError } from './errors.js'
import { getImport } from './read.js'
import { retentionArgs } from './retention.js'
import { scripts } from './scripts.js'
import { createdScore, serialise } from './serialise.js'
import type { StoreContext } from './types.js'

const DEFAULT_UPDATE_RETRIES = 25

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Writes `next` over `current` if the stored version is still `current.version`. */
async function compareAndSet(
  { redis, keys, retentionMs }: StoreContext,
  current: ImportRecord,
  next: ImportRecord,
): Promise<void> {
  const from = current.status
  const to = next.status
  const keyList = [
    keys.import(current.id),
    keys.statusImports(from),
    keys.statusImports(to),
    keys.tenantStatusImports(current.tenant, from),
    keys.tenantStatusImports(current.tenant, to),
    keys.retention,
    keys.inflight(current.target),
  ]
  // A final record gets its retention and gives back its in-flight place in the same step
  // (docs/retention.md, docs/inflight.md).
  let retention: (string | number)[] = ['', '', '']
  let freedChannel = ''
  if (isFinal(to)) {
    retention = retentionArgs(keys, next, retentionMs, keyList)
    freedChannel = keys.inflightFreed(current.target)
  } else if (current.batch_id !== null) keyList.push(keys.batchStatusCounts(current.batch_id))
  const reply = (await runScript(redis, scripts.transition, keyList, [
    current.version,
    serialise(next),
    createdScore(current),
    current.id,
    from,
    to,
    freedChannel,
    ...retention,
  ])) as string[]
  switch (reply[0]) {
    case 'ok':
      return
    case 'missing':
      throw new ImportNotFoundError(current.id)
    case 'conflict': {
      const actual = Number(reply[1])
      throw new VersionConflictError(current.id, current.version, Number.isFinite(actual) ? actual : null)
    }
    default:
      throw new CorruptImportRecordError(current.id, 'not JSON')
  }
}

/** ImportStore.transition: one compare-and-set on the version read (or the one expected). */
export async function transitionImport(
  ctx: StoreContext,
  id: string,
  to: ImportStatus,
  patch: ImportPatch = {},
  opts: { expectedVersion?: number; reason?: string; now?: Date } = {},
): Promise<ImportRecord> {
  const current = await getImport(ctx, id)
  if (!current) throw new ImportNotFoundError(id)
  if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
    throw new VersionConflictError(id, opts.expectedVersion, current.version)
  }
  const next = applyTransition(current, to, patch, { now: opts.now, reason: opts.reason })
  await compareAndSet(ctx, current, next)
  return next
}

/** ImportStore.update: read, decide, compare-and-set; again after a version conflict. */
export async function updateImport(
  ctx: StoreContext,
  id: string,
  fn: (current: ImportRecord) => { to: ImportStatus; patch?: ImportPatch; reason?: string } | null,
  opts: { maxRetries?: number; now?: Date } = {},
): Promise<ImportRecord | null> {
  const maxRetries = opts.maxRetries ?? DEFAULT_UPDATE_RETRIES
  for (let attempt = 0; ; attempt++) {
    const current = await getImport(ctx, id)
    if (!current) throw new ImportNotFoundError(id)
    const change = fn(current)
    if (change === null) return null
    const next = applyTransition(current, change.to, change.patch, {
      now: opts.now,
      reason: change.reason,
    })
    try {
      await compareAndSet(ctx, current, next)
      return next
    } catch (err) {
      if (!(err instanceof VersionConflictError) || attempt >= maxRetries) throw err
      // Jittered so that writers that collided once do not collide again in lockstep.
      await sleep(Math.random() * Math.min(2 + attempt * 2, 20))
    }
  }
}
