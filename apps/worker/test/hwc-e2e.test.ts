import type { buildApp } from '@ims-importer/api'
import type { TargetConfig } from '@ims-importer/core'
import { readBody, startPassThrough } from '@ims-importer/core/testing'
import { beforeAll, describe, expect, it } from 'vitest'
import { workerTestFile } from './helpers/fixtures.js'
import { type ServiceProcess, type SimTarget, systemBody, waitUntil } from './helpers/harness.js'

/** This file's own namespace; what its tests start is closed after it. */
const f = workerTestFile('hwc-e2e')

// Issue 17 item 4, end to end: the intake API, a worker process and two simulators, one playing
// Huawei Cloud (a target with cloud: hwc) and one Open Telekom Cloud. An import with HWC's
// license_type is accepted for the HWC target, created there, and followed to its end through
// HWC's job path; the OTC target's imports keep the OTC path. The simulator's request log names
// operations, not paths, so a pass-through in front of each simulator records the paths.

/** A pass-through to `upstream` that records method and path of every request. */
async function startRecorder(upstream: string) {
  /** The quick-import bodies as IMS received them. */
  const posted: Record<string, unknown>[] = []
  const recorder = await startPassThrough(upstream, (req, _res, forward) => {
    if (req.method === 'POST' && req.url?.startsWith('/v2/cloudimages/quickimport/action')) {
      void readBody(req).then((body) => posted.push(JSON.parse(body)))
    }
    forward()
  })
  return f.closeLater({ ...recorder, posted }, (r) => r.close())
}

/** The target on `t`'s simulator, reached through a recorder, of `cloud`. */
async function recordedTarget(t: SimTarget, cloud: 'otc' | 'hwc') {
  const recorder = await startRecorder(t.sim.url)
  const target: TargetConfig = {
    ...t.target,
    cloud,
    imsEndpoint: recorder.url,
    iamEndpoint: `${recorder.url}/v3`,
  }
  return { target, recorder, sim: t.sim }
}

const jobReads = (paths: string[]) => paths.filter((p) => /^GET \/v1\/.*jobs?\//.test(p))

describe('end to end: an HWC target beside an OTC target', () => {
  let hwc: Awaited<ReturnType<typeof recordedTarget>>
  let otc: Awaited<ReturnType<typeof recordedTarget>>
  let api: ReturnType<typeof buildApp>
  let worker: ServiceProcess
  const headers = { authorization: 'Bearer key-hwc' }

  beforeAll(async () => {
    const sims = await Promise.all([
      f.simTarget('hwc', { sim: { cloud: 'hwc' } }),
      f.simTarget('otc', { sim: { cloud: 'otc' } }),
    ])
    ;[hwc, otc] = await Promise.all([recordedTarget(sims[0], 'hwc'), recordedTarget(sims[1], 'otc')])
    // The API as deployed, on the same Redis and namespace, knowing each target's cloud.
    api = await f.api('tenant-hwc:key-hwc', {
      targets: [otc.target.name, hwc.target.name],
      clouds: { [otc.target.name]: 'otc', [hwc.target.name]: 'hwc' },
    })
    worker = await f.spawnWorker([otc.target, hwc.target])
  })

  it('imports a license_type body on the HWC target, polled at /v1/cloudimages/job/{job_id}; OTC polls stay at /v1/{project_id}/jobs/', async () => {
    const windows = {
      ...systemBody(1),
      name: 'win2016-byol',
      os_version: 'Windows Server 2016 Standard 64bit',
      license_type: 'byol',
    }
    const post = (payload: Record<string, unknown>) =>
      api.inject({ method: 'POST', url: '/v1/imports', headers, payload })

    // The OTC target refuses license_type at intake; the HWC target takes it.
    const refused = await post({ ...windows, target: otc.target.name })
    expect(refused.statusCode).toBe(400)
    expect(refused.json().errors).toEqual([expect.objectContaining({ path: 'license_type' })])
    const created = await post({ ...windows, target: hwc.target.name })
    expect(created.statusCode).toBe(202)
    const hwcId = created.json().id as string
    const plain = await post({ ...systemBody(2), target: otc.target.name })
    expect(plain.statusCode).toBe(202)
    const otcId = plain.json().id as string

    const views: Record<
      string,
      { status: string; request: Record<string, unknown>; ims: { job_id: string } }
    > = {}
    await waitUntil(
      'both imports final',
      async () => {
        for (const id of [hwcId, otcId]) {
          const res = await api.inject({ url: `/v1/imports/${id}`, headers })
          views[id] = res.json()
        }
        return [hwcId, otcId].every((id) =>
          ['succeeded', 'failed', 'cancelled'].includes(views[id]?.status ?? ''),
        )
      },
      30_000,
      100,
    )
    const hwcView = views[hwcId]
    const otcView = views[otcId]
    expect(hwcView?.status).toBe('succeeded')
    expect(otcView?.status).toBe('succeeded')
    expect(hwcView?.request).toMatchObject({ license_type: 'byol' })

    // One create each, on its own simulator; the HWC one carried license_type to IMS.
    expect(hwc.sim.control.counters().createsByMarker[hwcId]).toBe(1)
    expect(otc.sim.control.counters().createsByMarker[otcId]).toBe(1)
    expect(hwc.recorder.posted).toEqual([
      expect.objectContaining({
        license_type: 'byol',
        os_version: windows.os_version,
        image_tags: expect.arrayContaining([{ key: 'ims_importer_id', value: hwcId }]),
      }),
    ])

    // Every poll of the HWC import went to HWC's path, and the simulator answered each of them.
    const hwcJob = hwcView?.ims.job_id as string
    const hwcReads = jobReads(hwc.recorder.paths)
    expect(hwcReads.length).toBeGreaterThan(0)
    expect(hwcReads).toEqual(hwcReads.map(() => `GET /v1/cloudimages/job/${hwcJob}`))
    expect(hwc.sim.control.counters().requests.getJob).toBe(hwcReads.length)
    expect(hwc.sim.control.counters().responses.getJob?.['200']).toBe(hwcReads.length)

    // The OTC target, in the same worker, keeps OTC's path.
    const otcJob = otcView?.ims.job_id as string
    const otcReads = jobReads(otc.recorder.paths)
    expect(otcReads.length).toBeGreaterThan(0)
    expect(otcReads).toEqual(otcReads.map(() => `GET /v1/${otc.target.projectId}/jobs/${otcJob}`))
    expect(otc.sim.control.counters().requests.getJob).toBe(otcReads.length)

    // The worker process is still up (its health answers), so nothing above came from a restart.
    expect((await fetch(`${worker.url}/livez`)).status).toBe(200)
  }, 60_000)
})
