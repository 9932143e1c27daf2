import { createLogger, createRedis } from '@ims-importer/core'
import { testKeys, uniqueName } from '@ims-importer/core/testing'
import type { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createInflight } from '../src/inflight.js'
import { createPlaceWaiter, type PlaceWaiter } from '../src/place-waiter.js'
import { waitUntil } from './helpers/harness.js'

/** This file's own namespace: keys, queues and channels no other test file sees. */
const ns = testKeys('place-waiter')

const clients: Redis[] = []
const client = () => {
  const c = createRedis(inject('redisUrl'))
  clients.push(c)
  return c
}
const waiters: PlaceWaiter[] = []
afterAll(async () => {
  await Promise.all(waiters.map((w) => w.close()))
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)))
})

const log = createLogger({ name: 'place-waiter-test', level: 'silent' })
/** Far longer than any wake-up measured here: only an announcement explains a prompt take. */
const NO_RECHECK_MS = 60_000

function waiter(o: {
  target: string
  inflight: ReturnType<typeof createInflight>
  subscriber?: Redis
  maxWaiters?: number
}) {
  const w = createPlaceWaiter({
    inflight: o.inflight,
    targets: [o.target],
    ...(o.subscriber ? { subscriber: o.subscriber } : {}),
    maxWaiters: o.maxWaiters ?? 5,
    recheckMs: NO_RECHECK_MS,
    log,
  })
  waiters.push(w)
  return w
}

/** Resolves once `n` submissions wait (they are asleep after their first attempt). */
const waitingCount = (w: PlaceWaiter, target: string, n: number) =>
  waitUntil(`${n} waiting`, async () => w.waiting(target) === n, 5_000, 10)

describe('place waiter', () => {
  it('takes a place freed by another process at once, through its announcement', async () => {
    const target = uniqueName('places')
    const other = createInflight(client(), ns)
    const ours = createInflight(client(), ns)
    const w = waiter({ target, inflight: ours, subscriber: client() })
    const probe = client()
    await waitUntil(
      'subscribed',
      async () =>
        Number(((await probe.pubsub('NUMSUB', ns.inflightFreed(target))) as [string, number])[1]) === 1,
      5_000,
      20,
    )
    expect(await other.acquire(target, 'held', 1)).toBe(true)
    const taking = w.take(target, 'next', 1, 30_000)
    await waitingCount(w, target, 1)
    const freedAt = Date.now()
    await other.release(target, 'held')
    expect(await taking).toBe('taken')
    // Generous for a loaded machine; the re-check alone would take a minute.
    expect(Date.now() - freedAt).toBeLessThan(5_000)
    expect((await ours.members(target)).map((m) => m.importId)).toEqual(['next'])
  })

  it('takes a place freed in this process at once, without any subscriber', async () => {
    const target = uniqueName('places')
    const inflight = createInflight(client(), ns)
    const w = waiter({ target, inflight })
    expect(await inflight.acquire(target, 'held', 1)).toBe(true)
    const taking = w.take(target, 'next', 1, 30_000)
    await waitingCount(w, target, 1)
    const freedAt = Date.now()
    await inflight.release(target, 'held')
    expect(await taking).toBe('taken')
    expect(Date.now() - freedAt).toBeLessThan(5_000)
  })

  it('gives one freed place to the oldest waiter, refuses waiters beyond its bound, ends waits on close', async () => {
    const target = uniqueName('places')
    const inflight = createInflight(client(), ns)
    const w = waiter({ target, inflight, maxWaiters: 3 })
    await inflight.acquire(target, 'x', 2)
    await inflight.acquire(target, 'y', 2)
    const got: string[] = []
    const take = async (id: string) => {
      const o = await w.take(target, id, 2, 30_000)
      got.push(`${id}:${o}`)
      return o
    }
    const w1 = take('w1')
    await waitingCount(w, target, 1)
    const w2 = take('w2')
    await waitingCount(w, target, 2)
    const w3 = take('w3')
    await waitingCount(w, target, 3)
    // A fourth does not wait: one attempt, cap full.
    expect(await w.take(target, 'w4', 2, 30_000)).toBe('full')

    await inflight.release(target, 'x')
    expect(await w1).toBe('taken')
    await inflight.release(target, 'y')
    expect(await w2).toBe('taken')
    expect(got).toEqual(['w1:taken', 'w2:taken'])
    expect(w.waiting(target)).toBe(1)
    await w.close()
    expect(await w3).toBe('closing')
    expect((await inflight.members(target)).map((m) => m.importId).sort()).toEqual(['w1', 'w2'])
  })

  it('fills every place freed at once (a reconciler prune), then gives up after its wait', async () => {
    const target = uniqueName('places')
    const inflight = createInflight(client(), ns)
    const w = waiter({ target, inflight })
    for (const id of ['a', 'b', 'c']) await inflight.acquire(target, id, 3)
    const takes = ['w1', 'w2', 'w3', 'w4'].map((id) => w.take(target, id, 3, id === 'w4' ? 1_500 : 30_000))
    await waitingCount(w, target, 4)
    expect(await inflight.prune(target, await inflight.members(target))).toBe(3)
    const outcomes = await Promise.all(takes)
    expect(outcomes).toEqual(['taken', 'taken', 'taken', 'full'])
    expect(await inflight.count(target)).toBe(3)
  })
})
