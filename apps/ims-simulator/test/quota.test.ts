import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningSimulator, startSimulator } from '../src/index.js'
import { eventually, getToken, must, VALID_SYSTEM_BODY } from './helpers.js'

describe('image quota (GET /v1/cloudimages/quota, IMG.0015, deleting images)', () => {
  let sim: RunningSimulator
  let token: string

  const quota = async () => {
    const res = await fetch(`${sim.url}/v1/cloudimages/quota`, { headers: { 'x-auth-token': token } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      quotas: { resources: Array<{ type: string; used: number; quota: number; min: number; max: number }> }
    }
    return must(body.quotas.resources.find((r) => r.type === 'image'))
  }
  const post = async (name: string) => {
    const res = await fetch(`${sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify({ ...VALID_SYSTEM_BODY, name }),
    })
    return { status: res.status, body: (await res.json()) as { job_id?: string; error?: { code: string } } }
  }
  const deleteImage = (id: string) =>
    fetch(`${sim.url}/v2/images/${id}`, { method: 'DELETE', headers: { 'x-auth-token': token } })

  beforeAll(async () => {
    sim = await startSimulator({
      initMs: 0,
      jobDurationMs: { min: 20, max: 20 },
      imageQuota: 3,
      existingImages: 1,
    })
    token = await getToken(sim.url)
  })
  afterAll(() => sim.close())

  it('reports used and quota for the resource type image, as the OTC page shows it', async () => {
    expect(await quota()).toEqual({ type: 'image', used: 1, quota: 3, min: 1, max: 1000 })
    const listed = await fetch(`${sim.url}/v2/cloudimages?name=sim-existing-1`, {
      headers: { 'x-auth-token': token },
    })
    expect(((await listed.json()) as { images: Array<{ status: string }> }).images).toMatchObject([
      { status: 'active' },
    ])
  })

  it('refuses the POST with IMG.0015 once the project holds the quota, and counts the refusals', async () => {
    expect((await post('q-1')).status).toBe(200)
    expect((await post('q-2')).status).toBe(200)
    const refused = await post('q-3')
    expect(refused.status).toBe(400)
    expect(refused.body.error).toEqual({
      code: 'IMG.0015',
      message: 'The number of private images has reached the maximum allowed.',
    })
    expect((await quota()).used).toBe(3)
    expect(sim.control.quota()).toEqual({ quota: 3, used: 3, refusedForQuota: 1 })
    expect(sim.control.counters()).toMatchObject({ totalCreates: 2 })
    const overHttp = await fetch(`${sim.url}/__sim/quota`)
    expect(await overHttp.json()).toEqual({ quota: 3, used: 3, refusedForQuota: 1 })
  })

  it('frees a place when an image is deleted; an image still being created cannot be', async () => {
    await eventually(async () => (sim.control.jobs().every((j) => j.status === 'SUCCESS') ? true : undefined))
    const first = must(sim.control.jobs()[0]?.imageId)
    expect((await deleteImage(first)).status).toBe(204)
    expect((await deleteImage(first)).status).toBe(404)
    expect((await quota()).used).toBe(2)
    // The job of a deleted image still answers.
    const job = must(sim.control.jobs()[0])
    const res = await fetch(`${sim.url}/v1/sim-project/jobs/${job.jobId}`, {
      headers: { 'x-auth-token': token },
    })
    expect(res.status).toBe(200)

    sim.control.setSpeed({ jobDurationMs: { min: 60_000, max: 60_000 } })
    const running = await post('q-4')
    expect(running.status).toBe(200)
    const busy = must(sim.control.jobs().find((j) => j.jobId === running.body.job_id)?.imageId)
    const refused = await deleteImage(busy)
    expect(refused.status).toBe(400)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('IMG.0090')
    expect((await quota()).used).toBe(3)
    sim.control.setSpeed({ jobDurationMs: { min: 20, max: 20 } })
  })

  it('takes the quota and the image count from the control API, in process and over HTTP', async () => {
    sim.control.setLimits({ imageQuota: 10 })
    expect(sim.control.setImageCount(6)).toBe(6)
    expect(await quota()).toMatchObject({ used: 6, quota: 10 })
    let res = await fetch(`${sim.url}/__sim/images/count`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ count: 2 }),
    })
    expect(res.status).toBe(204)
    expect((await quota()).used).toBe(2)
    res = await fetch(`${sim.url}/__sim/limits`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ imageQuota: 2 }),
    })
    expect(res.status).toBe(204)
    expect((await post('q-5')).body.error?.code).toBe('IMG.0015')
    // The running q-4 job's image survives setImageCount; the finished one goes over HTTP.
    const finished = await fetch(`${sim.url}/v2/cloudimages?status=active`, {
      headers: { 'x-auth-token': token },
    })
    const [image] = ((await finished.json()) as { images: Array<{ id: string }> }).images
    res = await fetch(`${sim.url}/__sim/images/${must(image).id}`, { method: 'DELETE' })
    expect(res.status).toBe(204)
    expect((await quota()).used).toBe(1)
  })

  it('puts the existing images back on reset, with counters cleared', async () => {
    sim.control.reset()
    expect(await quota()).toMatchObject({ used: 1 })
    expect(sim.control.quota()).toMatchObject({ refusedForQuota: 0, used: 1 })
  })
})
