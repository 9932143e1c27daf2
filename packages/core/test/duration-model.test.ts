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

describe('estimateFrom: which answer for a known size', () => {
  const GIB = 2 ** 30
  /** n values spread evenly over [lo, hi]. */
  const spread = (n: number, lo: number, hi: number) =>
    Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1))

  it('takes the time per byte over the bucket when durations grow with the size', () => {
    // Files of 32 to 64 GiB at 1 min per GiB (+-2%): the bucket spans 32 to 64 min.
    const bucket = spread(20, 32, 64).map((gib) => gib * MIN)
    const perByte = spread(20, 0.98, 1.02).map((v) => (v * MIN) / GIB)
    const e = estimateFrom({ bucket, any: bucket, perByte }, file(40 * GIB), 5)
    expect(e?.basis).toBe('per-byte')
    expect(e?.medianMs).toBeCloseTo(40 * MIN)
  })

  it('keeps the bucket when durations do not grow with the size', () => {
    // 10 min (+-10%) whatever the size, sizes from 1 to 100 GiB: per byte spreads 100x.
    const bucket = spread(20, 9, 11).map((m) => m * MIN)
    const perByte = spread(20, 1, 100).map((gib) => (10 * MIN) / (gib * GIB))
    expect(estimateFrom({ bucket, any: bucket, perByte }, file(40 * GIB), 5)).toMatchObject({
      basis: 'bucket',
      medianMs: 10 * MIN,
    })
  })

  it('keeps the bucket when every import has one size (per byte is the bucket scaled)', () => {
    const bucket = spread(30, 5, 60).map((m) => m * MIN)
    const perByte = bucket.map((ms) => ms / (100 * GIB))
    const sized = bucket.map((ms) => ({ bytes: 100 * GIB, ms }))
    expect(estimateFrom({ bucket, any: bucket, perByte, sized }, disk(100), 5)?.basis).toBe('bucket')
  })

  // IMS's time as a setup plus the bytes at a throughput: 3 min + 1 min per GiB, the setup +-1 min.
  const sized = spread(40, 4, 90).map((gib, i) => ({ bytes: gib * GIB, ms: (3 + gib + (i % 3) - 1) * MIN }))
  const listsOf = (pairs: { bytes: number; ms: number }[]) => ({
    any: pairs.map((p) => p.ms),
    bucket: pairs.filter((p) => p.bytes >= 32 * GIB && p.bytes < 64 * GIB).map((p) => p.ms),
    perByte: pairs.map((p) => p.ms / p.bytes),
    sized: pairs,
  })

  it('fits setup + bytes / throughput where both the bucket and per byte are wider', () => {
    const e = estimateFrom(listsOf(sized), file(40 * GIB), 5)
    expect(e).toMatchObject({ basis: 'size-fit', samples: 40 })
    expect(e?.medianMs).toBeGreaterThan(42 * MIN)
    expect(e?.medianMs).toBeLessThan(44 * MIN)
    expect(e?.p10Ms).toBeGreaterThan(41 * MIN)
    expect(e?.p90Ms).toBeLessThan(45 * MIN)
    // The bucket (32 to 64 GiB) and per byte (the setup weighs on small files) are both wider.
    expect(estimateFrom({ ...listsOf(sized), sized: [] }, file(40 * GIB), 5)?.basis).not.toBe('size-fit')
  })

  it('fits robustly: a few stuck jobs do not pull the fit', () => {
    const stuck = sized.map((p, i) => (i % 20 === 0 ? { ...p, ms: p.ms * 10 } : p))
    const e = estimateFrom(listsOf(stuck), file(40 * GIB), 5)
    expect(e?.basis).toBe('size-fit')
    expect(e?.medianMs).toBeGreaterThan(42 * MIN)
    expect(e?.medianMs).toBeLessThan(45 * MIN)
  })

  it('fits only with twice minSamples pairs of different sizes that take longer when larger', () => {
    const fit = (pairs: { bytes: number; ms: number }[]) =>
      estimateFrom({ any: [], bucket: [], perByte: [], sized: pairs }, file(40 * GIB), 5)
    expect(fit(sized.slice(0, 9))).toBeNull()
    expect(fit(sized.slice(0, 10))?.basis).toBe('size-fit')
    expect(fit(sized.map((p) => ({ ...p, bytes: 8 * GIB })))).toBeNull()
    expect(fit(sized.map((p) => ({ ...p, ms: 100 * MIN - p.ms })))).toBeNull()
  })
})

describe('duration model in Redis', () => {
  it('learns per size bucket, shares across instances, and survives a new connection', async () => {
    const target = uniqueName('dm')
    const writer = createDurationModel(client(), ns)
    // 40 GB: 41 to 49 min; 200 GB: 70 to 110 min (not in proportion to the size: per byte is wide).
    for (let i = 1; i <= 9; i++) await writer.record(target, disk(40), (40 + i) * MIN)
    for (let i = 1; i <= 5; i++) await writer.record(target, disk(200), (60 + 10 * i) * MIN)

    // Another worker, another connection: the same model.
    const reader = createDurationModel(client(), ns)
    expect(await reader.estimate(target, disk(40))).toMatchObject({
      medianMs: 45 * MIN,
      samples: 9,
      basis: 'bucket',
    })
    // 200 GB: the line through both sizes is narrower than its bucket alone; same median.
    expect(await reader.estimate(target, disk(200))).toMatchObject({ medianMs: 90 * MIN, basis: 'size-fit' })
    // A size never seen: the fit of duration against size (the 14 pairs), extrapolated to it.
    const unseen = await reader.estimate(target, disk(1000))
    expect(unseen?.basis).toBe('size-fit')
    expect(unseen?.samples).toBe(14)
    expect(unseen?.medianMs).toBeGreaterThan(200 * MIN)
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
    expect(await redis.llen(durationModelKey(ns, target, 'f-size-ms'))).toBe(8)
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
      ['any', 'd-per-byte', 'd-size-ms', 'd33'].map((b) => durationModelKey(ns, target, b)),
    )
  })
})
