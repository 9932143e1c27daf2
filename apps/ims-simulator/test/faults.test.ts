import { beforeEach, describe, expect, it } from 'vitest'
import { startSimulator } from '../src/index.js'
import { getToken, useSimulator, VALID_SYSTEM_BODY } from './helpers.js'

describe('faults', () => {
  const s = useSimulator({ initMs: 10, jobDurationMs: { min: 20, max: 20 } })
  beforeEach(() => {
    s.sim.control.reset()
    s.sim.control.setFaults({})
  })

  const submit = (marker = 'm-1') =>
    fetch(`${s.sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': s.token },
      body: JSON.stringify({ ...VALID_SYSTEM_BODY, image_tags: [{ key: 'ims_importer_id', value: marker }] }),
    })
  const findByMarker = async (marker: string) => {
    const res = await fetch(`${s.sim.url}/v2/cloudimages?__imagetype=private&tag=ims_importer_id=${marker}`, {
      headers: { 'x-auth-token': s.token },
    })
    return ((await res.json()) as { images: Array<{ id: string }> }).images
  }

  it('errorRate answers 500 or 503 with an error body and creates nothing', async () => {
    s.sim.control.setFaults({ errorRate: 1 })
    const seen = new Set<number>()
    for (let i = 0; i < 8; i++) {
      const res = await submit()
      seen.add(res.status)
      const body = (await res.json()) as Record<string, unknown>
      expect('error_code' in body || 'error' in body).toBe(true)
    }
    expect([...seen].every((s) => s === 500 || s === 503)).toBe(true)
    expect(s.sim.control.counters().totalCreates).toBe(0)
  })

  it('throttleRate answers 429 APIG.0308 with no rate limit configured', async () => {
    s.sim.control.setFaults({ throttleRate: 1 })
    const res = await submit()
    expect(res.status).toBe(429)
    expect(((await res.json()) as Record<string, string>).error_code).toBe('APIG.0308')
    expect(s.sim.control.counters().totalCreates).toBe(0)
  })

  it('latencyMs delays the answer', async () => {
    s.sim.control.setFaults({ latencyMs: 200 })
    const started = Date.now()
    expect((await submit()).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(190)
  })

  it('resetBeforeRate destroys the connection before anything is created', async () => {
    s.sim.control.setFaults({ resetBeforeRate: 1 })
    await expect(submit('before-1')).rejects.toThrow()
    s.sim.control.setFaults({})
    expect(s.sim.control.counters().totalCreates).toBe(0)
    expect(await findByMarker('before-1')).toEqual([])
    expect(s.sim.control.requestLog('quickImport')[0]?.status).toBe(0)
    expect(s.sim.control.counters().responses.quickImport).toEqual({ '0': 1 })
  })

  it('resetAfterRate creates the image and job, then destroys the connection: the uncertain case', async () => {
    s.sim.control.setFaults({ resetAfterRate: 1 })
    await expect(submit('after-1')).rejects.toThrow()
    s.sim.control.setFaults({})
    expect(s.sim.control.counters().createsByMarker).toEqual({ 'after-1': 1 })
    expect(await findByMarker('after-1')).toHaveLength(1)
    expect(s.sim.control.jobs()).toMatchObject([{ marker: 'after-1' }])
    expect(s.sim.control.requestLog('quickImport')).toMatchObject([{ status: 0, marker: 'after-1' }])
  })

  it('malformedJsonRate answers 200 with a body that is not JSON, after doing the work', async () => {
    s.sim.control.setFaults({ malformedJsonRate: 1 })
    const res = await submit('malformed-1')
    expect(res.status).toBe(200)
    const text = await res.text()
    expect(text.startsWith('{')).toBe(true)
    expect(() => JSON.parse(text)).toThrow()
    expect(s.sim.control.counters().createsByMarker).toEqual({ 'malformed-1': 1 })
  })

  it('applies faults only to the chosen operations, never to auth or the control API by default', async () => {
    s.sim.control.setFaults({ errorRate: 1, operations: ['getJob'] })
    expect((await submit()).status).toBe(200)
    const job = await fetch(`${s.sim.url}/v1/sim-project/jobs/x`, { headers: { 'x-auth-token': s.token } })
    expect(job.status).toBeGreaterThanOrEqual(500)
    s.sim.control.setFaults({ errorRate: 1, resetBeforeRate: 1 })
    expect(await getToken(s.sim.url)).toMatch(/^MII/)
    expect((await fetch(`${s.sim.url}/__sim/counters`)).status).toBe(200)
  })

  it('draws faults per request: a share, reproducible with a seed', async () => {
    const run = async () => {
      const other = await startSimulator({ seed: 42, faults: { errorRate: 0.5 } })
      try {
        const t = await getToken(other.url)
        const statuses: number[] = []
        for (let i = 0; i < 20; i++) {
          statuses.push(
            (await fetch(`${other.url}/v2/cloudimages`, { headers: { 'x-auth-token': t } })).status,
          )
        }
        return statuses
      } finally {
        await other.close()
      }
    }
    const first = await run()
    expect(first.filter((s) => s === 200).length).toBeGreaterThan(2)
    expect(first.filter((s) => s >= 500).length).toBeGreaterThan(2)
    expect(await run()).toEqual(first)
  })
})
