import { beforeEach, describe, expect, it } from 'vitest'
import { IMS_ERROR_CODES, startSimulator } from '../src/index.js'
import { eventually, getToken, must, sleep, useSimulator, VALID_SYSTEM_BODY } from './helpers.js'

interface Job {
  status: string
  job_id: string
  job_type: string
  begin_time: string
  end_time: string | null
  error_code: string | null
  fail_reason: string | null
  entities: { image_id?: string; image_name?: string; process_percent?: number }
}

describe('import jobs', () => {
  const s = useSimulator({ initMs: 150, jobDurationMs: { min: 300, max: 300 } })
  beforeEach(() => {
    s.sim.control.reset()
    s.sim.control.setSpeed({ initMs: 150, jobDurationMs: { min: 300, max: 300 } })
    s.sim.control.setLimits({ imageQuota: 10_000, maxConcurrentImports: 40 })
  })

  const submit = async (body: Record<string, unknown> = VALID_SYSTEM_BODY) => {
    const res = await fetch(`${s.sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': s.token },
      body: JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as { job_id?: string; error?: { code: string } } }
  }
  const getJob = async (jobId: string, path = `/v1/sim-project/jobs/${jobId}`) => {
    const res = await fetch(`${s.sim.url}${path}`, { headers: { 'x-auth-token': s.token } })
    return { status: res.status, body: (await res.json()) as Job }
  }
  const imageStatus = async (imageName: string) => {
    const res = await fetch(`${s.sim.url}/v2/cloudimages?name=${encodeURIComponent(imageName)}`, {
      headers: { 'x-auth-token': s.token },
    })
    const { images } = (await res.json()) as { images: Array<{ status: string }> }
    return images[0]?.status
  }

  it('runs INIT -> RUNNING -> SUCCESS, the image queued -> saving -> active', async () => {
    // Phases of a second each: two requests made inside a 150 ms INIT missed it on a loaded machine.
    s.sim.control.setSpeed({ initMs: 1000, jobDurationMs: { min: 1000, max: 1000 } })
    const { status, body } = await submit({ ...VALID_SYSTEM_BODY, name: 'lifecycle' })
    expect(status).toBe(200)
    const jobId = must(body.job_id)

    const init = await getJob(jobId)
    expect(init.body).toMatchObject({
      status: 'INIT',
      job_id: jobId,
      job_type: 'imsImportImageJob',
      end_time: null,
    })
    expect(init.body.error_code).toBeNull()
    expect(await imageStatus('lifecycle')).toBe('queued')

    const running = await eventually(async () => {
      const job = await getJob(jobId)
      return job.body.status === 'RUNNING' ? job.body : undefined
    })
    expect(running.entities.image_name).toBe('lifecycle')
    expect(running.entities.process_percent).toBeGreaterThanOrEqual(0)
    expect(running.entities.process_percent).toBeLessThan(100)
    expect(await imageStatus('lifecycle')).toBe('saving')
    expect(s.sim.control.counters().currentConcurrentImports).toBe(1)

    const done = await eventually(async () => {
      const job = await getJob(jobId)
      return job.body.status === 'SUCCESS' ? job.body : undefined
    })
    expect(done).toMatchObject({ error_code: null, fail_reason: null })
    expect(done.entities.image_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(Date.parse(must(done.end_time))).toBeGreaterThan(Date.parse(done.begin_time))
    expect(await imageStatus('lifecycle')).toBe('active')
    expect(s.sim.control.counters().currentConcurrentImports).toBe(0)
    expect(s.sim.control.jobs()).toEqual([{ jobId, status: 'SUCCESS', imageId: done.entities.image_id }])
  })

  it('serves the HWC job path too', async () => {
    const { body } = await submit()
    const job = await getJob(must(body.job_id), `/v1/cloudimages/job/${body.job_id}`)
    expect(job.status).toBe(200)
    expect(job.body.job_id).toBe(body.job_id)
  })

  it('ends a fail-img-NNNN object key in FAIL with that code, the image killed', async () => {
    s.sim.control.setSpeed({ initMs: 10, jobDurationMs: { min: 50, max: 50 } })
    const { status, body } = await submit({
      ...VALID_SYSTEM_BODY,
      name: 'doomed',
      image_url: 'ims-image:disks/fail-img-0057.zvhd2',
      image_tags: [{ key: 'ims_importer_id', value: 'imp-1' }],
    })
    expect(status).toBe(200)
    const failed = await eventually(async () => {
      const job = await getJob(must(body.job_id))
      return job.body.status === 'FAIL' ? job.body : undefined
    })
    expect(failed.error_code).toBe('IMG.0057')
    expect(failed.fail_reason).toBe(IMS_ERROR_CODES['IMG.0057']?.message)
    expect(failed.end_time).not.toBeNull()
    expect(await imageStatus('doomed')).toBe('killed')
    expect(s.sim.control.jobs()[0]).toMatchObject({ status: 'FAIL', marker: 'imp-1' })
  })

  it('answers an unknown job id with 404 and an IMS error body', async () => {
    const job = await getJob('0123456789abcdef0123456789abcdef')
    expect(job.status).toBe(404)
    expect(job.body).toHaveProperty('error.code')
  })

  it('refuses more private images than the quota with IMG.0015', async () => {
    s.sim.control.setLimits({ imageQuota: 2 })
    expect((await submit()).status).toBe(200)
    expect((await submit()).status).toBe(200)
    const third = await submit()
    expect(third.status).toBe(400)
    expect(third.body.error?.code).toBe('IMG.0015')
    expect(s.sim.control.counters().totalCreates).toBe(2)
  })

  it('refuses imports beyond maxConcurrentImports with IMG.0194 and tracks current and peak', async () => {
    s.sim.control.setLimits({ maxConcurrentImports: 3 })
    s.sim.control.setSpeed({ initMs: 50, jobDurationMs: { min: 250, max: 250 } })
    for (let i = 0; i < 3; i++) expect((await submit()).status).toBe(200)
    const fourth = await submit()
    expect(fourth.status).toBe(400)
    expect(fourth.body.error?.code).toBe('IMG.0194')
    expect(s.sim.control.counters()).toMatchObject({ currentConcurrentImports: 3, peakConcurrentImports: 3 })

    await eventually(async () => (s.sim.control.counters().currentConcurrentImports === 0 ? true : undefined))
    expect((await submit()).status).toBe(200)
    expect(s.sim.control.counters()).toMatchObject({ currentConcurrentImports: 1, peakConcurrentImports: 3 })
  })

  it('draws job durations from jobDurationMs, reproducibly with a seed', async () => {
    const durations = async (seed: number) => {
      const other = await startSimulator({ seed, initMs: 0, jobDurationMs: { min: 100, max: 400 } })
      try {
        const t = await getToken(other.url)
        const ids: string[] = []
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${other.url}/v2/cloudimages/quickimport/action`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-auth-token': t },
            body: JSON.stringify(VALID_SYSTEM_BODY),
          })
          ids.push(((await res.json()) as { job_id: string }).job_id)
        }
        return ids
      } finally {
        await other.close()
      }
    }
    // Same seed, same job ids (the ids come from the same generator as the durations and fault draws).
    expect(await durations(7)).toEqual(await durations(7))
    expect(await durations(7)).not.toEqual(await durations(8))
  })

  it('keeps no timers: reset forgets running jobs at once', async () => {
    s.sim.control.setSpeed({ initMs: 10_000, jobDurationMs: { min: 10_000, max: 10_000 } })
    await submit()
    expect(s.sim.control.counters().currentConcurrentImports).toBe(1)
    s.sim.control.reset()
    expect(s.sim.control.counters()).toMatchObject({ currentConcurrentImports: 0, totalCreates: 0 })
    expect(s.sim.control.jobs()).toEqual([])
    await sleep(1)
  })
})
