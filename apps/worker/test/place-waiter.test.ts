import { createLogger } from '@ims-importer/core'
import { uniqueName } from '@ims-importer/core/testing'
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { createInflight, type Inflight } from '../src/inflight.js'
import { createPlaceWaiter, type PlaceWaiter } from '../src/place-waiter.js'
import { workerTestFile } from './helpers/fixtures.js'
import { waitUntil } from './helpers/harness.js'

/** This file's own namespace, and Redis clients closed after it. */
const { ns, redis: client, closeLater } = workerTestFile('place-waiter')

const log = createLogger({ name: 'place-waiter-test', level: 'silent' })
/** Far longer than any wake-up measured here: only an announcement explains a prompt take. */
const NO_RECHECK_MS = 60_000

function waiter(o: {
  target: string
  inflight: ReturnType<typeof createInflight>
  subscriber?: Redis
  maxWaiters?: number
}) {
  return closeLater(
    createPlaceWaiter({
      inflight: o.inflight,
      targets: [o.target],
      ...(o.subscriber ? { subscriber: o.subscriber } : {}),
      maxWaiters: o.maxWaiters ?? 5,
      recheckMs: NO_RECHECK_MS,
      log,
    }),
    (w) => w.close(),
  )
}

/** Resolves once `n` submissions wait (they are asleep after their first attempt). */
const waitingCount = (w: PlaceWaiter, target: string, n: number) =>
  waitUntil(`${n} waiting`, async () => w.waiting(target) === n, 5_000, 10)

/**
 * `holder` takes the target's one place, `w` waits for it as 'next', then `holder` frees it:
 * checks that 'next' took it, and returns how long after the release that was, in ms.
 */
async function msToTakeFreedPlace(w: PlaceWaiter, holder: Inflight, target: string): Promise<number> {
  expect(await holder.acquire(target, 'held', 1)).toBe(true)
  const taking = w.take(target, 'next', 1, 30_000)
  await waitingCount(w, target, 1)
  const freedAt = Date.now()
  await holder.release(target, 'held')
  expect(await taking).toBe('taken')
  return Date.now() - freedAt
}

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
    // Generous for a loaded machine; the re-check alone would take a minute.
    expect(await msToTakeFreedPlace(w, other, target)).toBeLessThan(5_000)
    expect((await ours.members(target)).map((m) => m.importId)).toEqual(['next'])
  })

  it('takes a place freed in this process at once, without any subscriber', async () => {
    const target = uniqueName('places')
    const inflight = createInflight(client(), ns)
    const w = waiter({ target, inflight })
    expect(await msToTakeFreedPlace(w, inflight, target)).toBeLessThan(5_000)
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
