import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningSimulator, startSimulator, validateQuickImport } from '../src/index.js'
import { eventually, getToken, must, VALID_DATA_BODY, VALID_SYSTEM_BODY } from './helpers.js'

const WINDOWS_BODY = { ...VALID_SYSTEM_BODY, os_version: 'Windows Server 2016 Standard 64bit' }

describe("license_type: accepted only as Huawei Cloud's page allows", () => {
  it('is an unknown field on OTC (IMG.0001), the default', () => {
    expect(validateQuickImport({ ...WINDOWS_BODY, license_type: 'byol' })).toEqual({
      ok: false,
      code: 'IMG.0001',
    })
  })

  it('takes platform or byol on a system image under hwc, nothing else, and not on a data image', () => {
    const hwc = { cloud: 'hwc' } as const
    expect(validateQuickImport({ ...WINDOWS_BODY, license_type: 'byol' }, hwc)).toMatchObject({
      ok: true,
      value: { licenseType: 'byol' },
    })
    expect(validateQuickImport({ ...WINDOWS_BODY, license_type: 'platform' }, hwc)).toMatchObject({
      ok: true,
    })
    expect(validateQuickImport({ ...VALID_SYSTEM_BODY, license_type: 'byol' }, hwc)).toMatchObject({
      ok: true,
    })
    expect(validateQuickImport({ ...WINDOWS_BODY, license_type: 'BYOL' }, hwc)).toEqual({
      ok: false,
      code: 'IMG.0001',
    })
    expect(validateQuickImport({ ...VALID_DATA_BODY, license_type: 'byol' }, hwc)).toEqual({
      ok: false,
      code: 'IMG.0001',
    })
    expect(validateQuickImport(WINDOWS_BODY, hwc)).toMatchObject({ ok: true })
  })
})

describe("the simulator as Huawei Cloud (cloud: 'hwc')", () => {
  let sim: RunningSimulator
  let token: string
  beforeAll(async () => {
    sim = await startSimulator({ cloud: 'hwc', initMs: 0, jobDurationMs: { min: 200, max: 200 } })
    token = await getToken(sim.url)
  })
  afterAll(() => sim.close())

  const post = async (body: unknown) => {
    const res = await fetch(`${sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as { job_id?: string; error?: { code: string } } }
  }

  it('accepts license_type and lists it on the image', async () => {
    const { status, body } = await post({ ...WINDOWS_BODY, name: 'win-byol', license_type: 'byol' })
    expect(status).toBe(200)
    const jobId = must(body.job_id)
    // Job progress the HWC way (ShowJobProgress): the job id alone, progress in entities.process_percent.
    const running = await eventually(async () => {
      const res = await fetch(`${sim.url}/v1/cloudimages/job/${jobId}`, {
        headers: { 'x-auth-token': token },
      })
      const job = (await res.json()) as { status: string; entities: { process_percent?: number } }
      return job.status === 'RUNNING' ? job : undefined
    })
    expect(running.entities.process_percent).toBeGreaterThanOrEqual(0)
    const list = await fetch(`${sim.url}/v2/cloudimages?name=win-byol`, {
      headers: { 'x-auth-token': token },
    })
    const [image] = ((await list.json()) as { images: Array<Record<string, unknown>> }).images
    expect(must(image).__license_type).toBe('byol')
  })

  it('refuses a license_type outside platform / byol with IMG.0001', async () => {
    expect((await post({ ...WINDOWS_BODY, license_type: 'free' })).body.error?.code).toBe('IMG.0001')
  })
})
