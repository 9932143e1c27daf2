import { type PassThrough, startPassThrough, uniqueName } from '@ims-importer/core/testing'
import { type RunningSimulator, startSimulator } from 'ims-simulator'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createImsClient, type ImsAuth, type ImsClient, type ImsJob } from '../src/index.js'
import { caught } from './caught.js'
import { SIM_AKSK, SIM_AKSK_AUTH, SIM_TOKEN_AUTH } from './sim-auth.js'
import { json, type StubServer, startStubServer } from './stub-server.js'

// Issue 17 item 4: with `cloud: 'hwc'` the client reads job progress at Huawei Cloud's
// `GET /v1/cloudimages/job/{job_id}` (ims-api.md §1), with `cloud: 'otc'` (the default) at
// `/v1/{project_id}/jobs/{job_id}`, against the simulator playing Huawei Cloud. The simulator's
// request log names operations, not paths: a pass-through in front of it records each path.

let sim: RunningSimulator
let recorder: PassThrough
const clients: ImsClient[] = []

beforeAll(async () => {
  sim = await startSimulator({
    cloud: 'hwc',
    credentials: [SIM_AKSK],
    initMs: 30,
    jobDurationMs: { min: 100, max: 200 },
    seed: 11,
  })
  recorder = await startPassThrough(sim.url)
})
afterAll(async () => {
  await recorder?.close()
  await sim?.close()
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  recorder.paths.length = 0
})

function client(auth: ImsAuth, cloud?: 'otc' | 'hwc'): ImsClient {
  const c = createImsClient({
    imsEndpoint: recorder.url,
    iamEndpoint: `${recorder.url}/v3`,
    projectId: 'sim-project',
    auth,
    ...(cloud ? { cloud } : {}),
    timeouts: { connectMs: 2_000, requestMs: 5_000 },
  })
  clients.push(c)
  return c
}

/** A Windows system image with HWC's license_type and a marker tag. */
function windowsBody(marker: string): Record<string, unknown> {
  return {
    name: `hwc-${marker}`.slice(0, 128),
    image_url: 'ims-image:win2016.zvhd2',
    os_version: 'Windows Server 2016 Standard 64bit',
    min_disk: 40,
    type: 'ECS',
    license_type: 'byol',
    image_tags: [{ key: 'ims_importer_id', value: marker }],
  }
}

const newMarker = () =>
  uniqueName('h')
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 43)

async function pollToEnd(c: ImsClient, jobId: string): Promise<{ job: ImsJob; polls: number }> {
  for (let polls = 1; polls <= 100; polls++) {
    const job = await c.getJob(jobId)
    if (job.status === 'SUCCESS' || job.status === 'FAIL') return { job, polls }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`job ${jobId} did not end`)
}

const jobReads = (paths: string[]) => paths.filter((p) => /^GET \/v1\/.*jobs?\//.test(p))

describe('job status per cloud (ims-client against the HWC simulator)', () => {
  it.each<[string, ImsAuth]>([
    ['token', SIM_TOKEN_AUTH],
    ['AK/SK', SIM_AKSK_AUTH],
  ])(
    'cloud hwc (%s): every job read is GET /v1/cloudimages/job/{job_id}, and the job ends SUCCESS',
    async (_, auth) => {
      const c = client(auth, 'hwc')
      const marker = newMarker()
      const before = sim.control.counters().requests.getJob ?? 0
      const { jobId } = await c.quickImport(windowsBody(marker))
      const { job, polls } = await pollToEnd(c, jobId)

      expect(job).toMatchObject({ job_id: jobId, status: 'SUCCESS', error_code: null })
      expect(job.image_id).toEqual(expect.any(String))
      const reads = jobReads(recorder.paths)
      expect(reads).toEqual(Array.from({ length: polls }, () => `GET /v1/cloudimages/job/${jobId}`))
      // The simulator answered every one of them (signature and token accepted on the HWC path).
      expect((sim.control.counters().requests.getJob ?? 0) - before).toBe(polls)
      expect(sim.control.counters().createsByMarker[marker]).toBe(1)
    },
  )

  it('cloud otc (the default) reads the job at /v1/{project_id}/jobs/{job_id}', async () => {
    const c = client(SIM_TOKEN_AUTH)
    const { jobId } = await c.quickImport(windowsBody(newMarker()))
    const { polls } = await pollToEnd(c, jobId)
    expect(jobReads(recorder.paths)).toEqual(
      Array.from({ length: polls }, () => `GET /v1/sim-project/jobs/${jobId}`),
    )
  })

  it('cloud hwc: an unknown job is the same 404 IMG.0023 as on OTC, and the job id is percent-encoded', async () => {
    const c = client(SIM_AKSK_AUTH, 'hwc')
    const err = await caught(c.getJob('no such/job'))
    expect(err).toMatchObject({ operation: 'getJob', status: 404, code: 'IMG.0023' })
    expect(jobReads(recorder.paths)).toEqual(['GET /v1/cloudimages/job/no%20such%2Fjob'])
  })
})

describe("HWC's APIGW.* gateway answers through the client", () => {
  let stub: StubServer
  beforeAll(async () => {
    stub = await startStubServer()
  })
  afterAll(() => stub.close())

  const stubClient = () => {
    const c = createImsClient({
      imsEndpoint: stub.url,
      iamEndpoint: `${stub.url}/v3`,
      projectId: 'proj-1',
      auth: { type: 'aksk', ak: 'AK1', sk: 'SK1' },
      cloud: 'hwc',
    })
    clients.push(c)
    return c
  }

  it.each<[number, string, string]>([
    [429, 'APIGW.0308', 'throttled'],
    [401, 'APIGW.0301', 'auth'],
    [503, 'APIGW.0613', 'transient'],
    [404, 'APIGW.0101', 'permanent'],
  ])('HTTP %i %s is %s, as its APIG. twin, with the code kept as sent', async (status, code, kind) => {
    const twin = `APIG.${code.slice('APIGW.'.length)}`
    const kinds: string[] = []
    for (const sent of [code, twin]) {
      stub.handle((_req, res) =>
        json(res, status, { error_code: sent, error_msg: 'gateway says no', request_id: 'r-1' }),
      )
      const err = await caught(stubClient().getJob('job-1'))
      expect(err).toMatchObject({ status, code: sent, requestId: 'r-1' })
      kinds.push(err.kind)
    }
    expect(kinds).toEqual([kind, kind])
    expect(stub.requests.at(-1)?.url).toBe('/v1/cloudimages/job/job-1')
  })

  it('an APIGW.0201 504 to a quick-import POST is uncertain, as APIG.0201', async () => {
    stub.handle((_req, res) => json(res, 504, { error_code: 'APIGW.0201', error_msg: 'backend timeout' }))
    const err = await caught(stubClient().quickImport(windowsBody(newMarker())))
    expect(err).toMatchObject({ kind: 'uncertain', status: 504, code: 'APIGW.0201' })
  })
})
