import { FINAL_STATUSES, type ImportRecord, ImportStatus, isFinal } from '../import-record.js'
import type { Keys } from '../keys.js'
import { runScript } from '../redis.js'
import { scripts } from './scripts.js'
import type { StoreContext } from './types.js'

/** How long final imports, their batches and index entries are kept: RETENTION_DAYS' default. */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000

/**
 * The statuses that are not final: a batch's counts must all be 0 in them before the batch may
 * expire; a tenant's cap counts its imports in them (admit.ts).
 */
export const OPEN_STATUSES: readonly ImportStatus[] = ImportStatus.options.filter((s) => !isFinal(s))

/**
 * A final import in the retention set: everything the sweep needs to find its index entries
 * once the record itself is gone. Built here only, so every writer writes the same member.
 */
export const importRetentionMember = (r: ImportRecord): string =>
  JSON.stringify(['i', r.id, r.tenant, r.status, r.batch_id ?? '', r.external_id ?? '', r.target])

/** A batch in the retention set (its tenant names the tenant's index of batches). */
export const batchRetentionMember = (batchId: string, tenant: string): string =>
  JSON.stringify(['b', batchId, tenant])

/** When a final record expires: `retentionMs` after it became final. */
export function expiresAt(r: ImportRecord, retentionMs: number): number {
  const ended = Date.parse(r.finished_at ?? r.updated_at)
  return (Number.isFinite(ended) ? ended : Date.now()) + retentionMs
}

/**
 * The KEYS (appended to `keyList`) and ARGV tail of a final record's retention, in the layout of
 * retain-final.lua's callers: batch keys (counts, record, imports) only for a record in a batch.
 */
export function retentionArgs(
  keys: Keys,
  r: ImportRecord,
  retentionMs: number,
  keyList: string[],
): (string | number)[] {
  if (r.batch_id !== null)
    keyList.push(keys.batchStatusCounts(r.batch_id), keys.batch(r.batch_id), keys.batchImports(r.batch_id))
  return [
    expiresAt(r, retentionMs),
    importRetentionMember(r),
    r.batch_id === null ? '' : batchRetentionMember(r.batch_id, r.tenant),
    ...OPEN_STATUSES,
  ]
}

/** Members read from the retention set per round trip (each costs up to 7 keys in one script). */
const SWEEP_CHUNK = 200

const Member = {
  parse(raw: string): string[] | null {
    try {
      const v = JSON.parse(raw) as unknown
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null
    } catch {
      return null
    }
  },
}

/**
 * Removes what is due in the retention set, with every index entry each member names
 * (expire-retained.lua), at most `limit` members; returns how many went.
 */
export async function sweepExpired(ctx: StoreContext, limit: number): Promise<number> {
  const { redis, keys } = ctx
  let removed = 0
  while (removed < limit) {
    const [sec, micro] = await redis.time()
    const now = Number(sec) * 1000 + Math.floor(Number(micro) / 1000)
    const due = await redis.zrangebyscore(
      keys.retention,
      '-inf',
      now,
      'LIMIT',
      0,
      Math.min(SWEEP_CHUNK, limit - removed),
    )
    if (due.length === 0) break
    const keyList: string[] = [keys.retention]
    const args: (string | number)[] = [0]
    let n = 0
    const junk: string[] = []
    for (const raw of due) {
      const m = Member.parse(raw)
      // 6 fields: written before the per-target index existed (no target named, none to prune).
      if (m?.[0] === 'i' && (m.length === 6 || m.length === 7) && ImportStatus.safeParse(m[3]).success) {
        const [, id, tenant, status, batchId, externalId, target = ''] = m as [
          string,
          string,
          string,
          string,
          string,
          string,
          string?,
        ]
        const first =
          keyList.push(
            keys.import(id),
            keys.tenantImports(tenant),
            keys.statusImports(status),
            keys.tenantStatusImports(tenant, status),
          ) - 3
        const ext = externalId === '' ? 0 : keyList.push(keys.tenantExternalImports(tenant, externalId))
        const batch =
          batchId === '' ? 0 : keyList.push(keys.batchImports(batchId), keys.batchStatusCounts(batchId)) - 1
        const byTarget = target === '' ? 0 : keyList.push(keys.tenantTargetImports(tenant, target))
        args.push(raw, 'i', id, status, first, ext, batch, byTarget)
      } else if (m?.[0] === 'b' && m.length === 3) {
        const [, id, tenant] = m as [string, string, string]
        const first =
          keyList.push(
            keys.batch(id),
            keys.batchImports(id),
            keys.batchStatusCounts(id),
            keys.tenantBatches(tenant),
          ) - 3
        args.push(raw, 'b', id, '', first, 0, 0, 0)
      } else {
        junk.push(raw)
        continue
      }
      n++
    }
    args[0] = n
    if (junk.length > 0) await redis.zrem(keys.retention, ...junk)
    const gone = n > 0 ? Number(await runScript(redis, scripts.expireRetained, keyList, args)) : 0
    removed += gone + junk.length
    // Members due but skipped (changed meanwhile) would be read again at once: stop here.
    if (gone + junk.length < due.length) break
  }
  return removed
}

/** Where the backfill's pass over one final status set is: last score read, members read at it. */
const parseCursor = (raw: string | null | undefined): { score: string; seen: number } => {
  const m = /^(-?\d+(?:\.\d+)?):(\d+)$/.exec(raw ?? '')
  return m ? { score: m[1] as string, seen: Number(m[2]) } : { score: '-inf', seen: 0 }
}

/**
 * Gives retention to final records that have none (written by a release before retention, or
 * rewritten by one): up to `perStatus` records of each final status set per call, walking each
 * set oldest first and starting over at its end, so every final record is seen again in turn.
 * Returns how many records got retention.
 */
export async function retainUnexpiring(ctx: StoreContext, perStatus: number): Promise<number> {
  const { redis, keys, retentionMs } = ctx
  let given = 0
  const cursors = await redis.hmget(keys.retentionBackfill, ...FINAL_STATUSES)
  for (const [i, status] of FINAL_STATUSES.entries()) {
    const at = parseCursor(cursors[i])
    const flat = await redis.zrangebyscore(
      keys.statusImports(status),
      at.score === '-inf' ? '-inf' : at.score,
      '+inf',
      'WITHSCORES',
      'LIMIT',
      at.seen,
      perStatus,
    )
    const entries: { id: string; score: string }[] = []
    for (let j = 0; j + 1 < flat.length; j += 2)
      entries.push({ id: flat[j] as string, score: flat[j + 1] as string })
    const raws = entries.length > 0 ? await redis.mget(entries.map((e) => keys.import(e.id))) : []
    const ttls = await Promise.all(entries.map((e) => redis.pttl(keys.import(e.id))))
    for (const [j, e] of entries.entries()) {
      const raw = raws[j]
      if (raw == null || ttls[j] !== -1) continue
      let record: ImportRecord
      try {
        record = JSON.parse(raw) as ImportRecord
      } catch {
        continue
      }
      if (record.id !== e.id || typeof record.tenant !== 'string' || !isFinal(record.status)) continue
      const keyList = [keys.import(e.id), keys.retention]
      const args = retentionArgs(keys, record, retentionMs, keyList)
      given += Number(await runScript(redis, scripts.retainImport, keyList, args))
    }
    const last = entries.at(-1)
    let next = ''
    if (entries.length === perStatus && last) {
      const sameScore = entries.filter((e) => e.score === last.score).length
      next = `${last.score}:${(last.score === at.score ? at.seen : 0) + sameScore}`
    }
    // At the end of the set: the next pass starts over from its oldest record.
    if (next === '') await redis.hdel(keys.retentionBackfill, status)
    else await redis.hset(keys.retentionBackfill, status, next)
  }
  return given
}
