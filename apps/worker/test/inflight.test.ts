import { uniqueName } from '@ims-importer/core/testing'
import { describe, expect, it } from 'vitest'
import { createInflight, type Inflight } from '../src/inflight.js'
import { workerTestFile } from './helpers/fixtures.js'

/** This file's own namespace, and Redis clients closed after it. */
const { ns, redis: client } = workerTestFile('inflight')

describe('in-flight set', () => {
  it('grants exactly cap places under concurrent acquire from several clients', async () => {
    const target = uniqueName('inflight')
    const sets = [client(), client(), client()].map((r) => createInflight(r, ns))
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (sets[i % 3] as Inflight).acquire(target, `imp_${i}`, 7)),
    )
    expect(results.filter(Boolean)).toHaveLength(7)
    expect(await (sets[0] as Inflight).count(target)).toBe(7)
  })

  it('lets a holder re-acquire at the cap, frees a place on release', async () => {
    const target = uniqueName('inflight')
    const set = createInflight(client(), ns)
    expect(await set.acquire(target, 'a', 2)).toBe(true)
    expect(await set.acquire(target, 'b', 2)).toBe(true)
    expect(await set.acquire(target, 'c', 2)).toBe(false)
    expect(await set.acquire(target, 'a', 2)).toBe(true)
    expect(await set.count(target)).toBe(2)
    await set.release(target, 'a')
    expect(await set.acquire(target, 'c', 2)).toBe(true)
    expect((await set.members(target)).map((m) => m.importId).sort()).toEqual(['b', 'c'])
  })

  it('prunes only members not re-acquired since they were read; add ignores the cap', async () => {
    const target = uniqueName('inflight')
    const set = createInflight(client(), ns)
    await set.acquire(target, 'a', 5)
    await set.acquire(target, 'b', 5)
    const read = await set.members(target)
    await new Promise((r) => setTimeout(r, 5))
    await set.acquire(target, 'b', 5) // re-acquired: newer score
    expect(await set.prune(target, read)).toBe(1)
    expect((await set.members(target)).map((m) => m.importId)).toEqual(['b'])
    expect(await set.add(target, ['x', 'y', 'b'])).toBe(2)
    expect(await set.count(target)).toBe(3)
  })
})
