import { createHash } from 'node:crypto'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { ID_PATTERN, newId } from '../src/ids.js'
import {
  IllegalTransitionError,
  type ImportRecord,
  ImportStatus,
  type NewImport,
} from '../src/import-record.js'
import { createRedis } from '../src/redis.js'
import {
  CorruptImportRecordError,
  createAdmission,
  createImportStore,
  ImportExistsError,
  ImportNotFoundError,
  type ImportStore,
  InvalidCursorError,
  type ListImportsQuery,
  VersionConflictError,
} from '../src/store/index.js'
import { testKeys } from '../src/testing/namespace.js'
import { uniqueName } from '../src/testing/unique.js'

/** This file's own namespace: it runs beside other test files on one Redis. */
const keys = testKeys('import-store')
const url = inject('redisUrl')
const redisA = createRedis(url, { connectionName: 'import-store-test-a' })
const redisB = createRedis(url, { connectionName: 'import-store-test-b' })
/** Two stores on two connections: two processes writing the same records. */
const storeA = createImportStore(redisA, { keys })
const storeB = createImportStore(redisB, { keys })

afterAll(() => {
  redisA.disconnect()
  redisB.disconnect()
})

const T0 = Date.parse('2026-03-01T00:00:00.000Z')
const at = (ms: number) => new Date(T0 + ms)

function input(tenant: string, extra: Partial<NewImport> = {}): NewImport {
  return { id: newId('imp'), tenant, target: 'eu-de', request: { name: 'disk' }, ...extra }
}

/** Every page of a listing, following cursors to the end. */
async function listAll(store: ImportStore, query: ListImportsQuery): Promise<ImportRecord[][]> {
  const pages: ImportRecord[][] = []
  let cursor = query.cursor
  for (let i = 0; i < 1000; i++) {
    const page = await store.list({ ...query, cursor })
    pages.push(page.items)
    if (page.next_cursor === null) return pages
    cursor = page.next_cursor
  }
  throw new Error('listing did not end')
}

const ids = (records: (ImportRecord | null)[]) => records.map((r) => r?.id)

describe('create and read', () => {
  it('round-trips a record through create, get and getMany', async () => {
    const tenant = uniqueName('t')
    const created = await storeA.create(
      input(tenant, { external_id: 'ext-1', callback_url: 'https://example.test/cb' }),
      at(0),
    )
    expect(created).toMatchObject({ tenant, status: 'queued', version: 1, external_id: 'ext-1' })
    expect(await storeB.get(created.id)).toEqual(created)
    const missing = newId('imp')
    expect(await storeA.get(missing)).toBeNull()
    expect(ids(await storeA.getMany([missing, created.id, missing]))).toEqual([
      undefined,
      created.id,
      undefined,
    ])
    expect(await storeA.getMany([])).toEqual([])
  })

  it('refuses an id that exists and keeps the first record', async () => {
    const tenant = uniqueName('t')
    const first = await storeA.create(input(tenant, { target: 'eu-de' }), at(0))
    await expect(storeB.create({ ...input(tenant), id: first.id, target: 'eu-nl' })).rejects.toBeInstanceOf(
      ImportExistsError,
    )
    expect(await storeA.get(first.id)).toEqual(first)
    expect(ids((await storeA.list({ tenant })).items)).toEqual([first.id])
  })

  it('refuses to write a record whose inputs have the wrong types, and writes nothing', async () => {
    const tenant = uniqueName('t')
    const bad: unknown[] = [
      { ...input(tenant), tenant: 7 },
      { ...input(tenant), request: ['not', 'an', 'object'] },
      { ...input(tenant), external_id: 12 },
      { ...input(tenant), callback_url: { url: 'x' } },
    ]
    for (const b of bad) {
      await expect(storeA.createMany([input(tenant), b as NewImport])).rejects.toThrow(
        /refusing to write an invalid record/,
      )
    }
    expect((await storeA.list({ tenant })).items).toEqual([])
  })

  it('createMany writes nothing when any id exists or repeats', async () => {
    const tenant = uniqueName('t')
    const existing = await storeA.create(input(tenant), at(0))
    const fresh = [input(tenant), input(tenant)]
    await expect(storeA.createMany([...fresh, { ...input(tenant), id: existing.id }], at(1))).rejects.toThrow(
      ImportExistsError,
    )
    const dup = input(tenant)
    await expect(storeA.createMany([dup, { ...dup }], at(1))).rejects.toThrow(ImportExistsError)
    expect(await storeA.getMany([...fresh, dup].map((i) => i.id))).toEqual([null, null, null])
    expect(ids((await storeA.list({ tenant })).items)).toEqual([existing.id])
  })

  it('a rate limit too high to bind still admits (its state expires after at least 1 ms)', async () => {
    const admission = createAdmission(redisA, { keys })
    const rateLimit = { keyId: uniqueName('key'), perMinute: 1e12 }
    for (let i = 0; i < 3; i++) expect((await admission.takeRateLimit(rateLimit)).allowed).toBe(true)
    const made = await admission.admit({ rateLimit, idempotency: null, imports: [input(uniqueName('t'))] })
    expect(made.kind).toBe('created')
  })

  it('admission writes the stored answer with the records, or not at all', async () => {
    const tenant = uniqueName('t')
    const admission = createAdmission(redisA, { keys })
    const rateLimit = { keyId: uniqueName('key'), perMinute: 1000 }
    const claim = { tenant, key: uniqueName('answer'), bodyHash: 'h1' }
    const claimKey = keys.idempotency(tenant, createHash('sha256').update(claim.key).digest('hex'))
    const [a, b] = [input(tenant), input(tenant)]
    const answer = { response: { ids: [a.id, b.id] } }
    const made = await admission.admit({
      rateLimit,
      idempotency: { ...claim, answer },
      imports: [a, b],
      now: at(0),
    })
    expect(made.kind).toBe('created')
    expect(await redisB.hgetall(claimKey)).toEqual({
      state: 'done',
      hash: 'h1',
      response: JSON.stringify(answer.response),
    })
    const ttl = await redisB.pttl(claimKey)
    expect(ttl).toBeGreaterThan(24 * 3600_000)
    expect(ids(await storeB.getMany([a.id, b.id]))).toEqual([a.id, b.id])
    // The same key and body: the stored answer, nothing written.
    const again = input(tenant)
    expect(await admission.admit({ rateLimit, idempotency: { ...claim, answer }, imports: [again] })).toEqual(
      { kind: 'replay', answer },
    )
    expect(
      await admission.admit({
        rateLimit,
        idempotency: { ...claim, bodyHash: 'h2', answer },
        imports: [again],
      }),
    ).toEqual({ kind: 'mismatch' })

    // An id that exists: no record and no stored answer.
    const refused = { tenant, key: uniqueName('refused'), bodyHash: 'h1' }
    const refusedKey = keys.idempotency(tenant, createHash('sha256').update(refused.key).digest('hex'))
    expect(
      await admission.admit({
        rateLimit,
        idempotency: { ...refused, answer: { importId: a.id } },
        imports: [input(tenant), { ...input(tenant), id: a.id }],
      }),
    ).toEqual({ kind: 'exists', importId: a.id })
    expect(await redisB.exists(refusedKey)).toBe(0)
    expect((await storeA.list({ tenant })).items).toHaveLength(2)
  })

  it('admission replays an import stored by id with its record, and refuses a limited key with nothing written', async () => {
    const tenant = uniqueName('t')
    const admission = createAdmission(redisB, { keys })
    const rateLimit = { keyId: uniqueName('key'), perMinute: 3 }
    const first = input(tenant)
    const claim = { tenant, key: uniqueName('k'), bodyHash: 'h', answer: { importId: first.id } }
    const made = await admission.admit({ rateLimit, idempotency: claim, imports: [first], now: at(0) })
    expect(made.kind).toBe('created')
    const record = made.kind === 'created' ? made.records[0] : undefined
    expect(await admission.admit({ rateLimit, idempotency: claim, imports: [input(tenant)] })).toEqual({
      kind: 'replay',
      answer: { import: record },
    })
    // Its import gone (being undone): in progress until the key is forgotten.
    await storeA.remove(first.id)
    expect(await admission.admit({ rateLimit, idempotency: claim, imports: [input(tenant)] })).toEqual({
      kind: 'in_progress',
    })
    // Three requests spent the burst of 3: the fourth is limited, and writes nothing.
    const late = input(tenant)
    const limited = await admission.admit({ rateLimit, idempotency: null, imports: [late] })
    expect(limited.kind).toBe('limited')
    expect(limited.kind === 'limited' && limited.retryAfterMs).toBeGreaterThan(0)
    expect(await storeA.get(late.id)).toBeNull()
    expect((await admission.takeRateLimit(rateLimit)).allowed).toBe(false)
    // forget drops the key's answer for its own body only.
    await admission.forget({ ...claim, bodyHash: 'other' })
    expect(
      await redisA.exists(keys.idempotency(tenant, createHash('sha256').update(claim.key).digest('hex'))),
    ).toBe(1)
    await admission.forget(claim)
    expect(
      await redisA.exists(keys.idempotency(tenant, createHash('sha256').update(claim.key).digest('hex'))),
    ).toBe(0)
  })

  it('gives every id its own randomness, across many ids made in one millisecond', () => {
    const made = Array.from({ length: 5000 }, () => newId('imp', T0))
    expect(new Set(made).size).toBe(made.length)
    for (const id of made) expect(id).toMatch(ID_PATTERN)
    // The 16 random characters use the whole alphabet.
    expect(new Set(made.flatMap((id) => [...id.slice(14)])).size).toBe(32)
  })

  it('reports a corrupt stored record clearly', async () => {
    const id = newId('imp')
    await redisA.set(keys.import(id), JSON.stringify({ id, tenant: 't', status: 'bogus' }), 'EX', 60)
    await expect(storeA.get(id)).rejects.toBeInstanceOf(CorruptImportRecordError)
    await expect(storeA.get(id)).rejects.toThrow(`import ${id}: stored record is corrupt`)
    const notJson = newId('imp')
    await redisA.set(keys.import(notJson), '{not json', 'EX', 60)
    await expect(storeA.getMany([notJson])).rejects.toBeInstanceOf(CorruptImportRecordError)
  })
})

describe('transition', () => {
  it('moves a record, bumps its version and records history', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    const next = await storeA.transition(
      r.id,
      'submitting',
      { attempts: { submit: 1, poll: 0 } },
      { now: at(5) },
    )
    expect(next).toMatchObject({ status: 'submitting', version: 2, attempts: { submit: 1, poll: 0 } })
    expect(await storeB.get(r.id)).toEqual(next)
    expect(next.history.map((h) => h.status)).toEqual(['queued', 'submitting'])
  })

  it('gives back the in-flight place in the write that makes the import final, and announces it', async () => {
    const target = uniqueName('tgt')
    const holder = await storeA.create(input(uniqueName('t'), { target }), at(0))
    const other = await storeA.create(input(uniqueName('t'), { target }), at(0))
    // Two places held, as the worker's in-flight set holds them (member = import id).
    await redisA.zadd(keys.inflight(target), 1, holder.id, 2, other.id)
    const listener = createRedis(url, { connectionName: 'import-store-test-freed' })
    try {
      const heard: string[] = []
      listener.on('message', (_channel: string, message: string) => heard.push(message))
      await listener.subscribe(keys.inflightFreed(target))
      // Not final: the place stays.
      await storeA.transition(holder.id, 'submitting')
      await storeA.transition(holder.id, 'submitted', { ims: { job_id: 'j-1' } })
      expect(await redisA.zscore(keys.inflight(target), holder.id)).not.toBeNull()
      // Final: gone in the same write, the other import's place untouched.
      await storeA.transition(holder.id, 'failed', {
        error: { source: 'ims', code: 'IMG.0057', message: 'file missing' },
      })
      expect(await redisA.zrange(keys.inflight(target), 0, -1)).toEqual([other.id])
      // A final import without a place (cancelled while queued): nothing removed, nothing said.
      const none = await storeA.create(input(uniqueName('t'), { target }), at(0))
      await storeA.transition(none.id, 'cancelled')
      const deadline = Date.now() + 2000
      while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => setTimeout(r, 50))
      expect(heard).toEqual(['1:store'])
    } finally {
      listener.disconnect()
    }
  })

  it('refuses a stale expectedVersion and leaves the record alone', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    const v2 = await storeA.transition(r.id, 'submitting', {}, { expectedVersion: 1 })
    const err = await storeA
      .transition(r.id, 'submitted', {}, { expectedVersion: 1 })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(VersionConflictError)
    expect(err).toMatchObject({ importId: r.id, expected: 1, actual: 2 })
    expect(await storeA.get(r.id)).toEqual(v2)
  })

  it('refuses an illegal move and an unknown id', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    await expect(storeA.transition(r.id, 'running')).rejects.toBeInstanceOf(IllegalTransitionError)
    expect((await storeA.get(r.id))?.version).toBe(1)
    await expect(storeA.transition(newId('imp'), 'submitting')).rejects.toBeInstanceOf(ImportNotFoundError)
  })

  it('two writers that both read version 1: exactly one wins', async () => {
    const tenant = uniqueName('t')
    const r = await storeA.create(input(tenant), at(0))
    const [seenA, seenB] = await Promise.all([storeA.get(r.id), storeB.get(r.id)])
    expect([seenA?.version, seenB?.version]).toEqual([1, 1])
    // Different intents, so the index shows which write took effect.
    const results = await Promise.allSettled([
      storeA.transition(r.id, 'submitting', {}, { expectedVersion: seenA?.version }),
      storeB.transition(r.id, 'cancelled', {}, { expectedVersion: seenB?.version }),
    ])
    const won = results.filter((x) => x.status === 'fulfilled')
    const lost = results.filter((x) => x.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(1)
    expect(lost[0]?.reason).toBeInstanceOf(VersionConflictError)

    const stored = await storeA.get(r.id)
    expect(stored?.version).toBe(2)
    expect(stored?.history).toHaveLength(2)
    const winner = won[0]?.value
    expect(stored).toEqual(winner)
    // The id sits in the winner's status index only.
    const loserStatus = winner?.status === 'submitting' ? 'cancelled' : 'submitting'
    expect(ids((await storeA.list({ tenant, status: winner?.status })).items)).toEqual([r.id])
    expect((await storeA.list({ tenant, status: loserStatus })).items).toEqual([])
    expect((await storeA.list({ tenant, status: 'queued' })).items).toEqual([])
  })

  it('20 concurrent transitions with the same expectedVersion: exactly one succeeds', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? storeA : storeB).transition(
          r.id,
          'submitting',
          { attempts: { submit: i + 1, poll: 0 } },
          { expectedVersion: 1 },
        ),
      ),
    )
    const won = results.filter((x) => x.status === 'fulfilled')
    const lost = results.filter((x) => x.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost).toHaveLength(19)
    for (const l of lost) expect(l.reason).toBeInstanceOf(VersionConflictError)
    const stored = await storeA.get(r.id)
    expect(stored?.version).toBe(2)
    expect(stored).toEqual(won[0]?.value)
  })
})

describe('update', () => {
  it('retries on conflicts until every concurrent update has landed', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    await storeA.transition(r.id, 'submitting')
    const n = 12
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        (i % 2 ? storeA : storeB).update(r.id, (cur) => ({
          to: cur.status,
          patch: { attempts: { ...cur.attempts, poll: cur.attempts.poll + 1 } },
        })),
      ),
    )
    expect(results.every((x) => x !== null)).toBe(true)
    const stored = await storeA.get(r.id)
    // Each update read the then-current record: no increment was lost.
    expect(stored?.attempts.poll).toBe(n)
    expect(stored?.version).toBe(2 + n)
  })

  it('returns null and writes nothing when fn declines; throws for an unknown id', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    expect(await storeA.update(r.id, () => null)).toBeNull()
    expect(await storeA.get(r.id)).toEqual(r)
    await expect(storeA.update(newId('imp'), () => null)).rejects.toBeInstanceOf(ImportNotFoundError)
  })

  it('does not retry an illegal transition', async () => {
    const r = await storeA.create(input(uniqueName('t')), at(0))
    let calls = 0
    const attempt = storeA.update(r.id, () => {
      calls++
      return { to: 'succeeded' }
    })
    await expect(attempt).rejects.toBeInstanceOf(IllegalTransitionError)
    expect(calls).toBe(1)
  })
})

describe('list', () => {
  it('lists newest first and pages with a cursor', async () => {
    const tenant = uniqueName('t')
    const created: ImportRecord[] = []
    for (let i = 0; i < 23; i++) created.push(await storeA.create(input(tenant), at(i * 1000)))
    const pages = await listAll(storeA, { tenant, limit: 10 })
    expect(pages.map((p) => p.length)).toEqual([10, 10, 3])
    expect(ids(pages.flat())).toEqual(ids(created).reverse())
    const all = await storeA.list({ tenant })
    expect(all.items).toHaveLength(23)
    expect(all.next_cursor).toBeNull()
    const exact = await storeA.list({ tenant, limit: 23 })
    expect(exact.next_cursor).toBeNull()
  })

  it('orders records created in the same millisecond by id and pages through them', async () => {
    const tenant = uniqueName('t')
    const created = await storeA.createMany(
      Array.from({ length: 25 }, () => input(tenant)),
      at(0),
    )
    const expected = ids(created).sort().reverse()
    expect(ids((await listAll(storeA, { tenant, limit: 7 })).flat())).toEqual(expected)
  })

  it('goes on from a cursor whose record was removed in between', async () => {
    const tenant = uniqueName('t')
    const same = await storeA.createMany(
      Array.from({ length: 12 }, () => input(tenant)),
      at(5000),
    )
    const older = [await storeA.create(input(tenant), at(0)), await storeA.create(input(tenant), at(1000))]
    const expected = [...ids(same).sort().reverse(), older[1]?.id, older[0]?.id]
    const page1 = await storeA.list({ tenant, limit: 5 })
    expect(ids(page1.items)).toEqual(expected.slice(0, 5))
    const cursorId = page1.items.at(-1)?.id as string
    await storeA.remove(cursorId)
    const rest = await listAll(storeA, { tenant, limit: 5, cursor: page1.next_cursor ?? undefined })
    expect(ids(rest.flat())).toEqual(expected.slice(5))
  })

  it('keeps its place while other imports are created concurrently', async () => {
    const tenant = uniqueName('t')
    const original: ImportRecord[] = []
    for (let i = 0; i < 30; i++) original.push(await storeA.create(input(tenant), at(i * 1000)))
    const seen: ImportRecord[] = []
    let cursor: string | undefined
    const inserted: ImportRecord[] = []
    const pager = (async () => {
      for (;;) {
        const page = await storeA.list({ tenant, limit: 4, cursor })
        seen.push(...page.items)
        if (page.next_cursor === null) return
        cursor = page.next_cursor
        // Give the inserter a turn between pages.
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    const inserter = (async () => {
      for (let i = 0; i < 15; i++) {
        // Newer than everything, and some in the middle of the range being paged.
        const when = i % 3 === 0 ? at(500 + i * 1000) : new Date(T0 + 1_000_000 + i)
        inserted.push(await storeB.create(input(tenant), when))
      }
    })()
    await Promise.all([pager, inserter])
    const seenIds = ids(seen)
    expect(new Set(seenIds).size).toBe(seenIds.length)
    for (const r of original) expect(seenIds).toContain(r.id)
    for (const id of seenIds) expect([...ids(original), ...ids(inserted)]).toContain(id)
    const times = seen.map((r) => Date.parse(r.created_at))
    expect(times).toEqual([...times].sort((a, b) => b - a))
  })

  it('filters by status, target, external_id and batch_id', async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    const a = await storeA.create(input(tenant, { target: 'eu-de', external_id: 'x-1' }), at(0))
    const b = await storeA.create(input(tenant, { target: 'eu-nl', external_id: 'x-1' }), at(1000))
    const c = await storeA.create(input(tenant, { target: 'eu-nl', external_id: 'x-2' }), at(2000))
    const batch = await storeA.createMany(
      [
        input(tenant, { target: 'eu-de', batch_id: batchId }),
        input(tenant, { target: 'eu-nl', batch_id: batchId }),
      ],
      at(3000),
    )
    await storeA.transition(b.id, 'submitting')
    await storeA.transition(batch[1]?.id as string, 'submitting')
    await storeA.transition(c.id, 'cancelled')

    const q = async (extra: Partial<ListImportsQuery>) => ids((await storeA.list({ tenant, ...extra })).items)
    const [b0, b1] = ids(batch)
    expect(await q({})).toHaveLength(5)
    expect(await q({ status: 'queued' })).toEqual(expect.arrayContaining([a.id, b0]))
    expect(await q({ status: 'queued' })).toHaveLength(2)
    expect((await q({ status: 'submitting' })).sort()).toEqual([b.id, b1].sort())
    expect(await q({ status: 'cancelled' })).toEqual([c.id])
    expect(await q({ status: 'running' })).toEqual([])
    expect((await q({ target: 'eu-nl' })).sort()).toEqual([b.id, c.id, b1].sort())
    expect(await q({ external_id: 'x-1' })).toEqual([b.id, a.id])
    expect(await q({ external_id: 'x-1', target: 'eu-de' })).toEqual([a.id])
    expect(await q({ external_id: 'nope' })).toEqual([])
    expect(await q({ batch_id: batchId })).toEqual([b1, b0])
    expect(await q({ batch_id: batchId, status: 'submitting' })).toEqual([b1])
    expect(await q({ status: 'submitting', target: 'eu-de' })).toEqual([])
    expect(await q({ status: 'queued', target: 'eu-de' })).toEqual(expect.arrayContaining([a.id, b0]))
  })

  it('pages a filtered listing to the end when a scan stops short', async () => {
    const tenant = uniqueName('t')
    const smallScan = createImportStore(redisA, { keys, listScanBudget: 5 })
    const created: ImportRecord[] = []
    for (let i = 0; i < 40; i++) {
      created.push(
        await storeA.create(input(tenant, { target: i % 7 === 0 ? 'eu-nl' : 'eu-de' }), at(i * 10)),
      )
    }
    const wanted = created.filter((r) => r.target === 'eu-nl').reverse()
    const pages = await listAll(smallScan, { tenant, target: 'eu-nl', limit: 2 })
    expect(ids(pages.flat())).toEqual(ids(wanted))
    expect(pages.every((p) => p.length <= 2)).toBe(true)
  })

  it("never lists another tenant's imports", async () => {
    const mine = uniqueName('t')
    const theirs = uniqueName('t')
    const theirBatch = newId('bat')
    const own = await storeA.create(input(mine, { external_id: 'shared' }), at(0))
    await storeA.create(input(theirs, { external_id: 'shared' }), at(1))
    await storeA.createMany([input(theirs, { batch_id: theirBatch })], at(2))
    expect(ids((await storeA.list({ tenant: mine })).items)).toEqual([own.id])
    expect(ids((await storeA.list({ tenant: mine, external_id: 'shared' })).items)).toEqual([own.id])
    expect((await storeA.list({ tenant: mine, batch_id: theirBatch })).items).toEqual([])
    expect(ids((await storeA.list({ tenant: mine, status: 'queued' })).items)).toEqual([own.id])
    expect((await storeA.list({ tenant: theirs })).items).toHaveLength(2)
  })

  it('refuses a bad limit and a cursor it did not issue for this query', async () => {
    const tenant = uniqueName('t')
    await storeA.createMany([input(tenant), input(tenant)], at(0))
    await expect(storeA.list({ tenant, limit: 0 })).rejects.toBeInstanceOf(RangeError)
    await expect(storeA.list({ tenant, limit: 501 })).rejects.toBeInstanceOf(RangeError)
    await expect(storeA.list({ tenant, cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError)
    const byStatus = await storeA.list({ tenant, status: 'queued', limit: 1 })
    expect(byStatus.next_cursor).not.toBeNull()
    await expect(storeA.list({ tenant, cursor: byStatus.next_cursor ?? '' })).rejects.toBeInstanceOf(
      InvalidCursorError,
    )
  })
})

describe('status and batch indexes', () => {
  it('idsByStatus follows transitions, oldest first', async () => {
    const tenant = uniqueName('t')
    const [r1, r2, r3] = await Promise.all([
      storeA.create(input(tenant), at(-3000)),
      storeA.create(input(tenant), at(-2000)),
      storeA.create(input(tenant), at(-1000)),
    ])
    const mineIn = async (status: 'queued' | 'submitting' | 'failed') => {
      const all = await storeA.idsByStatus(status, 1_000_000)
      return all.filter((id) => [r1?.id, r2?.id, r3?.id].includes(id))
    }
    expect(await mineIn('queued')).toEqual([r1?.id, r2?.id, r3?.id])
    await storeA.transition(r2?.id as string, 'submitting')
    expect(await mineIn('queued')).toEqual([r1?.id, r3?.id])
    expect(await mineIn('submitting')).toEqual([r2?.id])
    await storeA.transition(r2?.id as string, 'failed')
    await storeA.transition(r1?.id as string, 'failed')
    expect(await mineIn('submitting')).toEqual([])
    expect(await mineIn('failed')).toEqual([r1?.id, r2?.id])

    const all = await storeA.idsByStatus('failed', 1_000_000)
    expect(await storeA.idsByStatus('failed', 2, 1)).toEqual(all.slice(1, 3))
  })

  it('keeps each id in the status sets of its current status only', async () => {
    const tenant = uniqueName('t')
    const r = await storeA.create(input(tenant), at(0))
    const where = async () => {
      const found: string[] = []
      for (const status of ImportStatus.options) {
        const global = await redisA.zscore(keys.statusImports(status), r.id)
        const own = await redisA.zscore(keys.tenantStatusImports(tenant, status), r.id)
        if (global !== null) found.push(`all:${status}`)
        if (own !== null) found.push(`tenant:${status}`)
      }
      return found
    }
    expect(await where()).toEqual(['all:queued', 'tenant:queued'])
    await storeA.transition(r.id, 'submitting')
    await storeA.transition(r.id, 'submitting')
    await storeA.transition(r.id, 'submitted')
    expect(await where()).toEqual(['all:submitted', 'tenant:submitted'])
    await storeA.remove(r.id)
    expect(await where()).toEqual([])
  })

  it('countByStatusForBatch follows creates, transitions and removes', async () => {
    const batchId = newId('bat')
    const tenant = uniqueName('t')
    const zero = { queued: 0, submitting: 0, submitted: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 }
    expect(await storeA.countByStatusForBatch(batchId)).toEqual(zero)
    const rs = await storeA.createMany(
      Array.from({ length: 5 }, () => input(tenant, { batch_id: batchId })),
      at(0),
    )
    const [r0, r1, r2, r3] = ids(rs) as string[]
    await storeA.transition(r0 as string, 'submitting')
    await storeB.transition(r1 as string, 'submitting')
    await storeA.transition(r1 as string, 'submitted')
    await storeA.transition(r2 as string, 'cancelled')
    await storeA.transition(r0 as string, 'submitting') // same state: counts unchanged
    expect(await storeA.countByStatusForBatch(batchId)).toEqual({
      ...zero,
      queued: 2,
      submitting: 1,
      submitted: 1,
      cancelled: 1,
    })
    await storeA.remove(r3 as string)
    await storeA.remove(r2 as string)
    expect(await storeA.countByStatusForBatch(batchId)).toEqual({
      ...zero,
      queued: 1,
      submitting: 1,
      submitted: 1,
    })
  })

  it("a batch's index of imports is scored by each item's batch_index, or appended without one", async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    const indexed = await storeA.createMany(
      [7, 2, 11].map((batch_index) => input(tenant, { batch_id: batchId, batch_index })),
      at(0),
    )
    const appended = await storeA.createMany([input(tenant, { batch_id: batchId })], at(1))
    const scored = await redisA.zrange(keys.batchImports(batchId), 0, -1, 'WITHSCORES')
    const [i7, i2, i11] = ids(indexed) as string[]
    // Ordered by item index; the one without an index goes after the three already there (ZCARD 3).
    expect(scored).toEqual([i2, '2', appended[0]?.id, '3', i7, '7', i11, '11'])
    expect((await storeA.countByStatusForBatch(batchId)).queued).toBe(4)
    // batch_index is an input, never part of the record.
    expect(Object.keys((await storeA.get(i7 as string)) ?? {})).not.toContain('batch_index')

    // A bad index is refused before anything is written.
    const other = newId('bat')
    for (const bad of [-1, 1.5, Number.NaN])
      await expect(
        storeA.createMany([
          input(tenant, { batch_id: other }),
          input(tenant, { batch_id: other, batch_index: bad }),
        ]),
      ).rejects.toThrow(/batch_index/)
    expect(await redisA.exists(keys.batchImports(other))).toBe(0)
    expect((await storeA.countByStatusForBatch(other)).queued).toBe(0)
  })

  it('remove clears the record and every index, and frees the id', async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    const [r] = await storeA.createMany([input(tenant, { external_id: 'gone', batch_id: batchId })], at(0))
    const id = r?.id as string
    await storeA.transition(id, 'submitting')
    await storeA.remove(id)
    expect(await storeA.get(id)).toBeNull()
    for (const q of [{}, { status: 'submitting' as const }, { external_id: 'gone' }, { batch_id: batchId }]) {
      expect((await storeA.list({ tenant, ...q })).items).toEqual([])
    }
    expect(await storeA.idsByStatus('submitting', 1_000_000)).not.toContain(id)
    expect((await storeA.countByStatusForBatch(batchId)).submitting).toBe(0)
    await storeA.remove(id) // twice is fine
    const again = await storeA.create({ ...input(tenant), id }, at(1))
    expect(ids((await storeA.list({ tenant })).items)).toEqual([again.id])
  })
})

describe('createMany at batch size', () => {
  it('writes 1000 records in one round trip, all readable and listed', async () => {
    const tenant = uniqueName('t')
    const batchId = newId('bat')
    // Count commands this client sends: the batch endpoint needs one round trip, not 1000.
    const redis = createRedis(url, { connectionName: 'import-store-test-count' })
    let sent = 0
    const send = redis.sendCommand.bind(redis)
    redis.sendCommand = ((...args: Parameters<typeof send>) => {
      sent++
      return send(...args)
    }) as typeof redis.sendCommand
    try {
      await redis.ping()
      const store = createImportStore(redis, { keys })
      const inputs = Array.from({ length: 1000 }, (_, i) =>
        input(tenant, { batch_id: batchId, external_id: `row-${i}` }),
      )
      sent = 0
      const created = await store.createMany(inputs, at(0))
      expect(sent).toBeLessThanOrEqual(2) // EVALSHA, plus EVAL once if the script cache is cold
      expect(created).toHaveLength(1000)

      const read = await storeA.getMany(inputs.map((i) => i.id))
      expect(read).toEqual(created)
      expect((await storeA.countByStatusForBatch(batchId)).queued).toBe(1000)
      const pages = await listAll(storeA, { tenant, limit: 500 })
      expect(pages.map((p) => p.length)).toEqual([500, 500])
      expect(new Set(ids(pages.flat())).size).toBe(1000)
      // Batch order is item order; newest (last item) first.
      expect(ids((await storeA.list({ tenant, batch_id: batchId, limit: 3 })).items)).toEqual(
        inputs
          .slice(-3)
          .reverse()
          .map((i) => i.id),
      )
      expect(ids((await storeA.list({ tenant, external_id: 'row-17' })).items)).toEqual([inputs[17]?.id])
    } finally {
      redis.disconnect()
    }
  })
})
