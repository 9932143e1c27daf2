import { afterAll, describe, expect, inject, it } from 'vitest'
import { newId } from '../src/ids.js'
import type { ImportRecord, NewImport } from '../src/import-record.js'
import { createRedis } from '../src/redis.js'
import { createImportStore, importRetentionMember } from '../src/store/index.js'
import { testKeys } from '../src/testing/namespace.js'
import { uniqueName } from '../src/testing/unique.js'

/*
 * Retention (docs/retention.md): a final import, its index entries and its batch expire after
 * the retention, and nothing of them stays in any index. A tiny retention (ms) stands in for days.
 */
const keys = testKeys('retention')
const redis = createRedis(inject('redisUrl'), { connectionName: 'retention-test' })
const RETENTION_MS = 300
const store = createImportStore(redis, { keys, retentionMs: RETENTION_MS })
/** The same namespace with the default (30 days) retention: a long-lived record. */
const longStore = createImportStore(redis, { keys })

afterAll(() => redis.disconnect())

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function input(tenant: string, extra: Partial<NewImport> = {}): NewImport {
  return { id: newId('imp'), tenant, target: 'eu-de', request: { name: 'disk' }, ...extra }
}

async function finish(s: typeof store, id: string, to: 'succeeded' | 'failed' | 'cancelled' = 'succeeded') {
  if (to === 'cancelled') return s.transition(id, 'cancelled')
  await s.transition(id, 'submitting')
  await s.transition(id, 'submitted', { ims: { job_id: `job-${id}` } })
  return s.transition(id, to)
}

/** Every index that can name the record, and whether it still does. */
async function whereIndexed(r: ImportRecord): Promise<string[]> {
  const found: string[] = []
  const zsets: [string, string][] = [
    ['tenant', keys.tenantImports(r.tenant)],
    ...(
      ['queued', 'submitting', 'submitted', 'running', 'succeeded', 'failed', 'cancelled'] as const
    ).flatMap((s): [string, string][] => [
      [`status ${s}`, keys.statusImports(s)],
      [`tenant status ${s}`, keys.tenantStatusImports(r.tenant, s)],
    ]),
  ]
  zsets.push(['target', keys.tenantTargetImports(r.tenant, r.target)])
  if (r.external_id) zsets.push(['external', keys.tenantExternalImports(r.tenant, r.external_id)])
  if (r.batch_id) zsets.push(['batch', keys.batchImports(r.batch_id)])
  for (const [name, key] of zsets) if ((await redis.zscore(key, r.id)) !== null) found.push(name)
  if (await redis.exists(keys.import(r.id))) found.push('record')
  const members = await redis.zrange(keys.retention, 0, -1)
  if (members.some((m) => m.includes(`"${r.id}"`))) found.push('retention')
  return found
}

/** A batch as the API writes it: its record and the tenant's index of batches. */
async function writeBatch(tenant: string, batchId: string) {
  await redis.set(keys.batch(batchId), JSON.stringify({ id: batchId, tenant }))
  await redis.zadd(keys.tenantBatches(tenant), Date.now(), batchId)
}

describe('retention', () => {
  it('an import becoming final gets a TTL of the retention and a retention entry; open ones do not', async () => {
    const tenant = uniqueName('t')
    const [a, b] = (await longStore.createMany([input(tenant), input(tenant)])) as [
      ImportRecord,
      ImportRecord,
    ]
    await finish(longStore, a.id)
    await longStore.transition(b.id, 'submitting')
    const ttl = await redis.pttl(keys.import(a.id))
    expect(ttl).toBeGreaterThan(30 * 86_400_000 - 60_000)
    expect(ttl).toBeLessThanOrEqual(30 * 86_400_000)
    expect(await redis.pttl(keys.import(b.id))).toBe(-1)
    const done = (await longStore.get(a.id)) as ImportRecord
    expect(await redis.zscore(keys.retention, importRetentionMember(done))).toBe(
      String(Date.parse(done.finished_at as string) + 30 * 86_400_000),
    )
    // A final record rewritten in place (its callback's outcome) keeps its expiry.
    await longStore.transition(a.id, 'succeeded', {
      callback: {
        status: 'delivered',
        attempts: 1,
        last_error: null,
        delivered_at: new Date().toISOString(),
      },
    } as never)
    expect(await redis.pttl(keys.import(a.id))).toBeGreaterThan(30 * 86_400_000 - 60_000)
  })

  it('an expired import is gone from every index, its batch with it once the batch has no open import', async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    await writeBatch(tenant, batchId)
    const created = await store.createMany([
      input(tenant, { batch_id: batchId, batch_index: 0, external_id: 'ext-1' }),
      input(tenant, { batch_id: batchId, batch_index: 1 }),
      input(tenant, { batch_id: batchId, batch_index: 2 }),
    ])
    const [a, b, c] = created as [ImportRecord, ImportRecord, ImportRecord]
    const finalA = await finish(store, a.id)
    const finalB = await finish(store, b.id, 'failed')
    // c is still open: the batch stays, without a TTL.
    expect(await redis.pttl(keys.batch(batchId))).toBe(-1)
    await sleep(RETENTION_MS + 100)
    const swept = await store.sweepRetention()
    expect(swept.expired).toBeGreaterThanOrEqual(2)
    expect(await whereIndexed(finalA)).toEqual([])
    expect(await whereIndexed(finalB)).toEqual([])
    // The open one and the batch are untouched; the batch's counts count what is left.
    expect(await redis.zscore(keys.batchImports(batchId), c.id)).toBe('2')
    expect(await redis.exists(keys.batch(batchId))).toBe(1)
    expect(await store.countByStatusForBatch(batchId)).toMatchObject({ queued: 1, succeeded: 0, failed: 0 })

    const finalC = await finish(store, c.id, 'cancelled')
    const batchTtl = await redis.pttl(keys.batch(batchId))
    expect(batchTtl).toBeGreaterThan(0)
    expect(batchTtl).toBeLessThanOrEqual(RETENTION_MS)
    await sleep(RETENTION_MS + 100)
    await store.sweepRetention()
    expect(await whereIndexed(finalC)).toEqual([])
    for (const k of [keys.batch(batchId), keys.batchImports(batchId), keys.batchStatusCounts(batchId)])
      expect(await redis.exists(k)).toBe(0)
    expect(await redis.zscore(keys.tenantBatches(tenant), batchId)).toBeNull()
    expect(await redis.zrange(keys.retention, 0, -1)).not.toContainEqual(expect.stringContaining(batchId))
    // What is listed after all that: nothing of the tenant's.
    expect((await store.list({ tenant })).items).toEqual([])
  })

  it('a listing drops the index entries of records that expired before the sweep ran', async () => {
    const tenant = uniqueName('t')
    const [a, b] = (await store.createMany([input(tenant), input(tenant)])) as [ImportRecord, ImportRecord]
    await finish(store, a.id)
    await sleep(RETENTION_MS + 100)
    expect(await redis.exists(keys.import(a.id))).toBe(0)
    const page = await store.list({ tenant })
    expect(page.items.map((r) => r.id)).toEqual([b.id])
    expect(await redis.zscore(keys.tenantImports(tenant), a.id)).toBeNull()
  })

  it("a listing by batch leaves the batch's set to the sweep, so the batch's counts stay right", async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    await writeBatch(tenant, batchId)
    const [a, b] = (await store.createMany([
      input(tenant, { batch_id: batchId, batch_index: 0 }),
      input(tenant, { batch_id: batchId, batch_index: 1 }),
    ])) as [ImportRecord, ImportRecord]
    await finish(store, a.id)
    await sleep(RETENTION_MS + 100)
    expect((await store.list({ tenant, batch_id: batchId })).items.map((r) => r.id)).toEqual([b.id])
    await store.sweepRetention()
    expect(await redis.zscore(keys.batchImports(batchId), a.id)).toBeNull()
    expect(await store.countByStatusForBatch(batchId)).toMatchObject({ queued: 1, succeeded: 0 })
  })

  it('a final record written without retention (an earlier release) gets it at the next sweep and expires', async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    await writeBatch(tenant, batchId)
    const [old] = (await longStore.createMany([input(tenant, { batch_id: batchId, batch_index: 0 })])) as [
      ImportRecord,
    ]
    const done = await finish(longStore, old.id)
    // As an earlier release left it: no TTL anywhere, no retention entry.
    await redis.persist(keys.import(done.id))
    for (const k of [keys.batch(batchId), keys.batchImports(batchId), keys.batchStatusCounts(batchId)])
      await redis.persist(k)
    await redis.del(keys.retention)
    // Ended longer ago than the retention: due at once when the sweep gives it retention.
    await sleep(RETENTION_MS + 100)
    const swept = await store.sweepRetention()
    expect(swept.retained).toBeGreaterThanOrEqual(1)
    expect(await whereIndexed(done)).toEqual([])
    expect(await redis.exists(keys.batch(batchId))).toBe(0)
    expect(await redis.zscore(keys.tenantBatches(tenant), batchId)).toBeNull()
  })

  it('a record with retention not yet due stays, indexed, and keeps its TTL', async () => {
    const tenant = uniqueName('t')
    const [a] = (await longStore.createMany([input(tenant)])) as [ImportRecord]
    const done = await finish(longStore, a.id)
    await store.sweepRetention()
    expect(await whereIndexed(done)).toEqual(
      expect.arrayContaining([
        'tenant',
        'status succeeded',
        'tenant status succeeded',
        'record',
        'retention',
      ]),
    )
  })
})
