import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RunningSimulator, startSimulator } from '../src/index.js'
import { getToken, VALID_SYSTEM_BODY } from './helpers.js'

describe('startSimulator', () => {
  let sim: RunningSimulator
  beforeAll(async () => {
    sim = await startSimulator({ initMs: 20, jobDurationMs: { min: 50, max: 50 } })
  })
  afterAll(() => sim.close())

  it('serves IAM and IMS on a free port', async () => {
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const token = await getToken(sim.url)
    const res = await fetch(`${sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify(VALID_SYSTEM_BODY),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/)
    const body = (await res.json()) as { job_id: string }
    expect(body.job_id).toMatch(/^[0-9a-f]{32}$/)
    expect(sim.control.counters().totalCreates).toBe(1)
  })
})
