import { afterAll, describe, expect, inject, it } from 'vitest'
import {
  createDurationModel,
  durationModelKey,
  estimateFrom,
  type SizeHint,
  sizeBucket,
} from '../src/duration-model.js'
import { createRedis } from '../src/redis.js'
import { testKeys, uniqueName } from '../src/testing/index.js'

/** This file's own namespace, and Redis clients closed after it. */
const ns = testKeys('duration-model')
const clients: ReturnType<typeof createRedis>[] = []
const client = () => {
  const c = createRedis(inject('redisUrl'))
  clients.push(c)
  return c
}
afterAll(async () => {
  for (const c of clients) await c.quit().catch(() => undefined)
})

const MIN = 60_000
const disk = (gb: number): SizeHint => ({ kind: 'disk-gb', gb })
const file = (bytes: number): SizeHint => ({ kind: 'file-bytes', bytes })

describe('size buckets', () => {
  it('put min_disk and file sizes on one log2-of-bytes scale, in separate buckets', () => {
    expect(sizeBucket(disk(40))).toBe('d35')
    expect(sizeBucket(disk(32))).toBe('d35')
    expect(sizeBucket(disk(31))).toBe('d34')
    expect(sizeBucket(file(12 * 2 ** 30))).toBe('f33')
    expect(sizeBucket(file(2 ** 35))).toBe('f35')
    expect(sizeBucket(null)).toBe('any')
    expect(sizeBucket(disk(0))).toBe('any')
    expect(sizeBucket(file(Number.NaN))).toBe('any')
  })
})

describe('estimateFrom (pure)', () => {
  const ten = Array.from({ length: 10 }, (_, i) => (i + 1) * MIN)
  it('answers from the size bucket once it holds enough samples', () => {
    const e = estimateFrom({ bucket: ten, any: [], perByte: [] }, disk(40), 5)
    expect(e).toMatchObject({ medianMs: 5.5 * MIN, samples: 10, basis: 'bucket' })
    expect(e?.p10Ms).toBeCloseTo(1.9 * MIN)
    expect(e?.p90Ms).toBeCloseTo(9.1 * MIN)
  })
  it('scales the per-byte prior to the size when the bucket is thin', () => {
    const perByte = [1, 1, 2, 2, 2].map((v) => (v * MIN) / 2 ** 35)
    const e = estimateFrom({ bucket: [MIN], any: ten, perByte }, disk(64), 5)
    expect(e).toMatchObject({ basis: 'per-byte', samples: 5 })
    expect(e?.medianMs).toBeCloseTo(4 * MIN) // 2 min per 32 GiB, 64 GiB
  })
  it('falls back to all the target imports, and to null without history', () => {
    expect(estimateFrom({ bucket: [], any: ten, perByte: [] }, null, 5)?.basis).toBe('target')
    expect(estimateFrom({ bucket: [], any: ten.slice(0, 4), perByte: [] }, null, 5)).toBeNull()
  })
})

describe('duration model in Redis', () => {
  it('learns per size bucket, shares across instances, and survives a new connection', async () => {
    const target = uniqueName('dm')
    const writer = createDurationModel(client(), ns)
    for (let i = 1; i <= 9; i++) await writer.record(target, disk(40), i * MIN)
    for (let i = 1; i <= 5; i++) await writer.record(target, disk(200), 10 * i * MIN)

    // Another worker, another connection: the same model.
    const reader = createDurationModel(client(), ns)
    expect(await reader.estimate(target, disk(40))).toMatchObject({
      medianMs: 5 * MIN,
      samples: 9,
      basis: 'bucket',
    })
    expect(await reader.estimate(target, disk(200))).toMatchObject({ medianMs: 30 * MIN, basis: 'bucket' })
    // A size never seen: the per-byte prior scaled to it.
    const unseen = await reader.estimate(target, disk(1000))
    expect(unseen?.basis).toBe('per-byte')
    expect(unseen?.samples).toBe(14)
    // No size: every import of the target.
    expect(await reader.estimate(target, null)).toMatchObject({ samples: 14, basis: 'target' })
    // Another target knows nothing.
    expect(await reader.estimate(uniqueName('dm'), disk(40))).toBeNull()
  })

  it('keeps a bounded number of the most recent durations per bucket', async () => {
    const target = uniqueName('dm')
    const redis = client()
    const model = createDurationModel(redis, ns, { keep: 8, minSamples: 3 })
    for (let i = 0; i < 20; i++) await model.record(target, file(2 ** 33), (i < 12 ? 100 : 10) * MIN)
    expect(await redis.llen(durationModelKey(ns, target, 'f33'))).toBe(8)
    expect(await redis.llen(durationModelKey(ns, target, 'any'))).toBe(8)
    expect(await redis.llen(durationModelKey(ns, target, 'f-per-byte'))).toBe(8)
    // Only the 8 newest (all 10 min) remain: IMS got faster, the model follows.
    expect(await model.estimate(target, file(2 ** 33))).toMatchObject({ medianMs: 10 * MIN, samples: 8 })
  })

  it('keys live under the namespace prefix and ignore unusable durations', async () => {
    const target = uniqueName('dm')
    const redis = client()
    const model = createDurationModel(redis, ns)
    await model.record(target, null, -5)
    await model.record(target, null, Number.NaN)
    expect(await redis.exists(durationModelKey(ns, target, 'any'))).toBe(0)
    await model.record(target, disk(8), MIN)
    expect(durationModelKey(ns, target, 'd33')).toBe(`${ns.prefix}:duration-model:${target}:d33`)
    expect((await redis.keys(`${ns.prefix}:duration-model:${target}:*`)).sort()).toEqual(
      ['any', 'd-per-byte', 'd33'].map((b) => durationModelKey(ns, target, b)),
    )
  })
})
