import {
  createKeys,
  durationModelKey,
  type ImportRecord,
  sizeBucket,
  type TargetConfig,
} from '@ims-importer/core'
import { startPassThrough, uniqueName } from '@ims-importer/core/testing'
import { simTargetConfig } from '@ims-importer/testkit'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WorkerRuntime } from '../src/index.js'
import { workerTestFile } from './helpers/fixtures.js'
import type { SimTarget } from './helpers/harness.js'
import { waitAllFinal, waitUntil } from './helpers/harness.js'

// The pre-flight end to end: a real simulator whose IMS judges the file of every job by its OBS
// (obsJudging), a real Redis and worker. Each bad file is sent twice: through a target without the
// pre-flight (IMS fails its job, which shows it is a mistake IMS would catch) and through one with
// it (failed before any POST, the reason on the record).

const f = workerTestFile('preflight')
const GIB = 2 ** 30
const SIM_OBS_AUTH = { ak: 'SIMAK0000000000000001', sk: 'sim-secret-key' }

const body = (i: number, imageUrl: string, minDisk = 40) => ({
  name: `pf-${i}`,
  image_url: imageUrl,
  os_version: 'CentOS 7.0 64bit',
  min_disk: minDisk,
  type: 'ECS',
})

/** Each bad file, the pre-flight's code for it and the code IMS fails its job with. */
const CASES = [
  { url: 'images:disks/missing.zvhd2', preflight: 'preflight_object_missing', ims: 'IMG.0057' },
  { url: 'no-such-bucket:disks/a.zvhd2', preflight: 'preflight_bucket_missing', ims: 'IMG.0057' },
  { url: 'images-nl:disks/a.zvhd2', preflight: 'preflight_wrong_region', ims: 'IMG.0058' },
  { url: 'images:disks/huge.zvhd2', minDisk: 1024, preflight: 'preflight_too_large', ims: 'IMG.0059' },
  { url: 'archive:disks/a.zvhd2', preflight: 'preflight_not_standard', ims: 'IMG.0069' },
  { url: 'images:disks/cold.zvhd2', preflight: 'preflight_not_standard', ims: 'IMG.0069' },
  { url: 'images:disks/big.zvhd2', preflight: 'preflight_disk_too_small', ims: 'IMG.0055' },
  { url: 'images:disks/nomf.raw', preflight: 'preflight_bitmap_missing', ims: 'IMG.1075' },
] as const

let t: SimTarget
/** Pre-flight on (enforce, the default with `obs`) and off, on the same simulator. */
let checked: TargetConfig
let unchecked: TargetConfig
let runtime: WorkerRuntime

beforeAll(async () => {
  t = await f.simTarget('pf', { sim: { region: 'eu-de', obsJudging: true } })
  const obs = t.sim.control.obs
  obs.putBucket({
    name: 'images',
    region: 'eu-de',
    objects: [
      { key: 'disks/ok.zvhd2', size: 10 * GIB },
      { key: 'disks/ok.raw', size: 20 * GIB },
      { key: 'disks/ok.mf', size: 4096 },
      { key: 'disks/huge.zvhd2', size: 2 ** 40 + GIB },
      { key: 'disks/cold.zvhd2', size: GIB, storageClass: 'COLD' },
      { key: 'disks/big.zvhd2', size: 50 * GIB },
      { key: 'disks/nomf.raw', size: GIB },
    ],
  })
  obs.putBucket({ name: 'images-nl', region: 'eu-nl', objects: [{ key: 'disks/a.zvhd2', size: GIB }] })
  obs.putBucket({
    name: 'archive',
    region: 'eu-de',
    storageClass: 'WARM',
    objects: [{ key: 'disks/a.zvhd2', size: GIB }],
  })
  const base = t.target
  checked = { ...base, region: 'eu-de', obs: { endpoint: t.sim.url, auth: SIM_OBS_AUTH } }
  unchecked = { ...simTargetConfig(t.sim.url, uniqueName('pf-off')), region: 'eu-de', preflight: 'off' }
  runtime = await f.runtime([checked, unchecked])
})

const creates = (id: string) => t.sim.control.counters().createsByMarker[id] ?? 0

describe('pre-flight (enforce)', () => {
  it('stops each file IMS would fail before its POST, with the reason on the record', async () => {
    const intake = f.intake()
    const withoutIds = await Promise.all(
      CASES.map((c, i) => intake.create(unchecked.name, body(i, c.url, 'minDisk' in c ? c.minDisk : 40))),
    )
    const withIds = await Promise.all(
      CASES.map((c, i) => intake.create(checked.name, body(100 + i, c.url, 'minDisk' in c ? c.minDisk : 40))),
    )
    const without = await waitAllFinal(intake, withoutIds, 30_000)
    const withCheck = await waitAllFinal(intake, withIds, 30_000)
    const rows = CASES.map((c, i) => {
      const imsSide = without[i] as ImportRecord
      const ours = withCheck[i] as ImportRecord
      return {
        url: c.url,
        ims: `${imsSide.status} ${imsSide.error?.code} (${creates(imsSide.id)} POST)`,
        preflight: `${ours.status} ${ours.error?.source}/${ours.error?.code} (${creates(ours.id)} POST)`,
      }
    })
    console.table(rows)
    CASES.forEach((c, i) => {
      const imsSide = without[i] as ImportRecord
      const ours = withCheck[i] as ImportRecord
      // IMS would fail it: the job of the unchecked target failed with IMS's code for the file.
      expect(imsSide.status, c.url).toBe('failed')
      expect(imsSide.error?.code, c.url).toBe(c.ims)
      expect(creates(imsSide.id), c.url).toBe(1)
      // The pre-flight failed it first: no quick-import POST, the reason on the record.
      expect(ours.status, c.url).toBe('failed')
      expect(ours.error, c.url).toMatchObject({ source: 'preflight', code: c.preflight })
      expect(ours.error?.message.length, c.url).toBeGreaterThan(10)
      expect(creates(ours.id), c.url).toBe(0)
      expect(ours.attempts.submit, c.url).toBe(0)
    })
    // The reason as the API shows it (GET /v1/imports/{id}; intake's records are tenant-a's).
    const api = await f.api('tenant-a:key-a', { targets: [checked.name, unchecked.name] })
    for (const [i, id] of withIds.entries()) {
      const res = await api.inject({
        method: 'GET',
        url: `/v1/imports/${id}`,
        headers: { authorization: 'Bearer key-a' },
      })
      expect(res.statusCode).toBe(200)
      expect(res.json()).toMatchObject({
        status: 'failed',
        error: { source: 'preflight', code: CASES[i]?.preflight },
      })
    }
    // The file as found is on the record once OBS had the object.
    const tooSmall = withCheck[CASES.findIndex((c) => c.preflight === 'preflight_disk_too_small')]
    expect(tooSmall?.file).toMatchObject({ size_bytes: 50 * GIB, storage_class: 'STANDARD', region: 'eu-de' })
    // Operators see the same on /metrics: one failed check per case, by code.
    const counted = await runtime.deps.metrics.registry
      .getSingleMetric('ims_importer_preflight_checks_total')
      ?.get()
    for (const c of CASES) {
      const value = counted?.values.find(
        (v) =>
          v.labels.target === checked.name && v.labels.outcome === 'failed' && v.labels.code === c.preflight,
      )?.value
      expect(value, c.preflight).toBe(CASES.filter((o) => o.preflight === c.preflight).length)
    }
  })

  it('submits good files, with the file on the record; the duration model learns by file size', async () => {
    const intake = f.intake()
    const ids = [
      await intake.create(checked.name, body(200, 'images:disks/ok.zvhd2')),
      await intake.create(checked.name, body(201, 'images:disks/ok.raw')),
    ]
    const records = await waitAllFinal(intake, ids, 30_000)
    for (const r of records) {
      expect(r.status).toBe('succeeded')
      expect(creates(r.id)).toBe(1)
    }
    expect(records[0]?.file).toMatchObject({
      size_bytes: 10 * GIB,
      storage_class: 'STANDARD',
      region: 'eu-de',
    })
    expect(records[1]?.file).toMatchObject({ size_bytes: 20 * GIB })
    expect(Date.parse(records[0]?.file?.checked_at ?? '')).toBeLessThanOrEqual(
      Date.parse(records[0]?.submitted_at ?? ''),
    )
    // The poll processor recorded each duration under the file's size bucket (f33, f34), not min_disk's.
    const keys = createKeys(f.ns.prefix)
    const redis = f.redis()
    for (const bytes of [10 * GIB, 20 * GIB]) {
      const key = durationModelKey(keys, checked.name, sizeBucket({ kind: 'file-bytes', bytes }))
      // Recorded right after the import's final write (poll.ts learn): awaited, briefly.
      await waitUntil(`a duration in ${key}`, async () => (await redis.llen(key)) >= 1, 2000)
      expect(await redis.llen(key), key).toBe(1)
    }
    const diskKey = durationModelKey(keys, checked.name, sizeBucket({ kind: 'disk-gb', gb: 40 }))
    expect(await redis.llen(diskKey)).toBe(0)
  })

  it('warn: a failed check is logged and the import submitted (IMS then judges it)', async () => {
    const warnTarget = { ...checked, name: uniqueName('pf-warn'), preflight: 'warn' as const }
    await f.runtime([warnTarget])
    const intake = f.intake()
    const id = await intake.create(warnTarget.name, body(300, 'images:disks/big.zvhd2'))
    const [r] = await waitAllFinal(intake, [id], 30_000)
    expect(r?.status).toBe('failed')
    expect(r?.error).toMatchObject({ source: 'ims', code: 'IMG.0055' })
    expect(creates(id)).toBe(1)
    expect(r?.file?.size_bytes).toBe(50 * GIB)
  })
})

/**
 * An HTTP proxy in front of the simulator's OBS that answers 503 (OBS's ServiceUnavailable body)
 * while `failing`, and otherwise passes each request through unchanged (the signature covers
 * path, query and x-obs-* headers, all kept). The simulator has no OBS faults of its own.
 */
async function obsFaultProxy(upstream: string) {
  const state = { failing: true, refused: 0, passed: 0 }
  const proxy = await startPassThrough(upstream, (_req, res, forward) => {
    if (state.failing) {
      state.refused++
      res
        .writeHead(503, { 'content-type': 'application/xml', 'x-obs-error-code': 'ServiceUnavailable' })
        .end(
          '<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>',
        )
      return
    }
    state.passed++
    forward()
  })
  return { url: proxy.url, state, close: () => proxy.close() }
}

describe('pre-flight: OBS faults', () => {
  let proxy: Awaited<ReturnType<typeof obsFaultProxy>>
  beforeAll(async () => {
    proxy = await obsFaultProxy(t.sim.url)
  })
  afterAll(() => proxy.close())

  it('OBS answering 5xx delays the import (no place, no POST) and never fails it', async () => {
    const faulty = {
      ...checked,
      name: uniqueName('pf-5xx'),
      obs: { endpoint: proxy.url, auth: SIM_OBS_AUTH },
    }
    await f.runtime([faulty])
    const intake = f.intake()
    const id = await intake.create(faulty.name, body(400, 'images:disks/ok.zvhd2'))
    await waitUntil('three OBS reads refused', async () => proxy.state.refused >= 9, 20_000)
    const [waiting] = await intake.records([id])
    expect(waiting?.status).toBe('queued')
    expect(waiting?.file ?? null).toBeNull()
    expect(creates(id)).toBe(0)
    console.log(`OBS 503 answers while the import waited: ${proxy.state.refused}`)
    proxy.state.failing = false
    const [r] = await waitAllFinal(intake, [id], 30_000)
    expect(r?.status).toBe('succeeded')
    expect(r?.file?.size_bytes).toBe(10 * GIB)
    expect(creates(id)).toBe(1)
    expect(proxy.state.passed).toBeGreaterThanOrEqual(3)
  })
})
