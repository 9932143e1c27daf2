import { describe, expect, it } from 'vitest'
import type { SimulatorCounters } from '../src/index.js'
import { useSimulator, VALID_SYSTEM_BODY } from './helpers.js'

describe('control HTTP API under /__sim/', () => {
  const s = useSimulator({ initMs: 5000, jobDurationMs: { min: 5000, max: 5000 } })

  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${s.sim.url}/__sim/${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    })
  const submit = (body: Record<string, unknown>) =>
    fetch(`${s.sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': s.token },
      body: JSON.stringify(body),
    })

  it('counts creates per marker (tags and image_tags) and per name, requests and responses', async () => {
    expect((await control('POST', 'reset')).status).toBe(204)
    await submit({ ...VALID_SYSTEM_BODY, name: 'one', image_tags: [{ key: 'ims_importer_id', value: 'a' }] })
    await submit({ ...VALID_SYSTEM_BODY, name: 'one', tags: ['ims_importer_id.a'] })
    await submit({ ...VALID_SYSTEM_BODY, name: 'two', tags: ['ims_importer_id.b'] })
    await submit({ ...VALID_SYSTEM_BODY, min_disk: 0, tags: ['ims_importer_id.c'] })
    const counters = (await (await control('GET', 'counters')).json()) as SimulatorCounters
    expect(counters).toEqual({
      createsByMarker: { a: 2, b: 1 },
      createsByName: { one: 2, two: 1 },
      totalCreates: 3,
      currentConcurrentImports: 3,
      peakConcurrentImports: 3,
      requests: { quickImport: 4 },
      responses: { quickImport: { '200': 3, '400': 1 } },
    })
    expect(counters).toEqual(s.sim.control.counters())
  })

  it('serves the request log, filtered by op, with markers and statuses', async () => {
    const res = await control('GET', 'requests?op=quickImport')
    const { requests } = (await res.json()) as {
      requests: Array<{ op: string; at: number; status: number; marker?: string }>
    }
    expect(requests.map((r) => [r.status, r.marker])).toEqual([
      [200, 'a'],
      [200, 'a'],
      [200, 'b'],
      [400, 'c'],
    ])
    expect(requests.every((r) => r.op === 'quickImport' && r.at > 0)).toBe(true)
    const all = (await (await control('GET', 'requests')).json()) as { requests: unknown[] }
    // Control requests themselves are not logged.
    expect(all.requests).toHaveLength(4)
  })

  it('lists jobs', async () => {
    const { jobs } = (await (await control('GET', 'jobs')).json()) as { jobs: Array<Record<string, unknown>> }
    expect(jobs).toHaveLength(3)
    expect(jobs[0]).toMatchObject({
      status: 'INIT',
      marker: 'a',
      jobId: expect.stringMatching(/^[0-9a-f]{32}$/),
    })
  })

  it('sets faults, speed, rate limits and limits', async () => {
    expect((await control('PUT', 'limits', { maxConcurrentImports: 3 })).status).toBe(204)
    const refused = await submit(VALID_SYSTEM_BODY)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('IMG.0194')

    expect((await control('POST', 'reset')).status).toBe(204)
    expect((await control('PUT', 'speed', { initMs: 0, jobDurationMs: { min: 0, max: 0 } })).status).toBe(204)
    const res = await submit(VALID_SYSTEM_BODY)
    const { job_id } = (await res.json()) as { job_id: string }
    const job = await fetch(`${s.sim.url}/v1/sim-project/jobs/${job_id}`, {
      headers: { 'x-auth-token': s.token },
    })
    expect(((await job.json()) as { status: string }).status).toBe('SUCCESS')

    expect((await control('PUT', 'rate-limits', { quickImport: { limit: 0, windowMs: 1000 } })).status).toBe(
      204,
    )
    expect((await submit(VALID_SYSTEM_BODY)).status).toBe(429)
    expect((await control('PUT', 'rate-limits', {})).status).toBe(204)

    expect((await control('PUT', 'faults', { throttleRate: 1, operations: ['quickImport'] })).status).toBe(
      204,
    )
    expect((await submit(VALID_SYSTEM_BODY)).status).toBe(429)
    expect((await control('PUT', 'faults', {})).status).toBe(204)
    expect((await submit(VALID_SYSTEM_BODY)).status).toBe(200)

    expect((await control('PUT', 'limits', { imageQuota: 0 })).status).toBe(204)
    const quota = await submit(VALID_SYSTEM_BODY)
    expect(((await quota.json()) as { error: { code: string } }).error.code).toBe('IMG.0015')
  })

  it('rejects invalid control bodies with 400', async () => {
    expect((await control('PUT', 'faults', { errorRate: 2 })).status).toBe(400)
    expect((await control('PUT', 'faults', { explode: true })).status).toBe(400)
    expect((await control('PUT', 'speed', { jobDurationMs: { min: 5, max: 1 } })).status).toBe(400)
    expect((await control('PUT', 'rate-limits', { everything: { limit: 1, windowMs: 1 } })).status).toBe(400)
    expect((await fetch(`${s.sim.url}/__sim/limits`, { method: 'PUT', body: 'nope' })).status).toBe(400)
  })

  it('reset forgets images, jobs, counters and the log', async () => {
    expect((await control('POST', 'reset')).status).toBe(204)
    expect(s.sim.control.counters()).toMatchObject({
      totalCreates: 0,
      requests: {},
      peakConcurrentImports: 0,
    })
    expect(s.sim.control.jobs()).toEqual([])
    expect(s.sim.control.requestLog()).toEqual([])
    const res = await fetch(`${s.sim.url}/v2/cloudimages`, { headers: { 'x-auth-token': s.token } })
    expect(((await res.json()) as { images: unknown[] }).images).toEqual([])
  })
})
