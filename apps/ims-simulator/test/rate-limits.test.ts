import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type RequestLogEntry, type RunningSimulator, startSimulator } from '../src/index.js'
import { getToken, must, sleep } from './helpers.js'

/** The largest number of admitted (non-429) requests in any window of `windowMs`. */
function maxInWindow(entries: RequestLogEntry[], windowMs: number): number {
  const admitted = entries.filter((e) => e.status !== 429).map((e) => e.at)
  let max = 0
  for (const start of admitted)
    max = Math.max(max, admitted.filter((t) => t >= start && t < start + windowMs).length)
  return max
}

describe('gateway rate limits', () => {
  let sim: RunningSimulator
  let token: string
  beforeAll(async () => {
    sim = await startSimulator()
    token = await getToken(sim.url)
  })
  afterAll(() => sim.close())
  beforeEach(() => {
    sim.control.reset()
    sim.control.setRateLimits({})
  })

  const list = () => fetch(`${sim.url}/v2/cloudimages`, { headers: { 'x-auth-token': token } })

  it('answers 429 APIG.0308 beyond the limit within a sliding window, without Retry-After', async () => {
    sim.control.setRateLimits({ listImages: { limit: 3, windowMs: 1000 } })
    const statuses: number[] = []
    const responses = await Promise.all(Array.from({ length: 6 }, () => list()))
    for (const res of responses) statuses.push(res.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(3)
    expect(statuses.filter((s) => s === 429)).toHaveLength(3)
    const throttled = must(responses.find((r) => r.status === 429))
    expect(throttled.headers.get('retry-after')).toBeNull()
    const body = (await throttled.json()) as Record<string, string>
    expect(body).toEqual({
      error_code: 'APIG.0308',
      error_msg:
        'The throttling threshold has been reached: policy user over ratelimit,limit:3,time:1 second',
      request_id: throttled.headers.get('x-request-id'),
    })
    expect(sim.control.counters().responses.listImages).toEqual({ '200': 3, '429': 3 })
  })

  it('admits again once the window slides, and never more than the limit in any window', async () => {
    sim.control.setRateLimits({ getJob: { limit: 2, windowMs: 200 } })
    const get = () =>
      fetch(`${sim.url}/v1/sim-project/jobs/0123456789abcdef0123456789abcdef`, {
        headers: { 'x-auth-token': token },
      })
    const first = await Promise.all([get(), get(), get()])
    expect(first.map((r) => r.status).sort()).toEqual([404, 404, 429])
    await sleep(250)
    const second = await Promise.all([get(), get(), get()])
    expect(second.map((r) => r.status).sort()).toEqual([404, 404, 429])
    for (let i = 0; i < 10; i++) {
      await get()
      await sleep(30)
    }
    const log = sim.control.requestLog('getJob')
    expect(log).toHaveLength(16)
    expect(maxInWindow(log, 200)).toBeLessThanOrEqual(2)
    expect(log.some((e) => e.status === 429)).toBe(true)
  })

  it('limits IAM token requests separately', async () => {
    sim.control.setRateLimits({ auth: { limit: 1, windowMs: 60_000 } })
    await getToken(sim.url)
    await expect(getToken(sim.url)).rejects.toThrow('429')
    expect((await list()).status).toBe(200)
  })

  it('adds Retry-After when retryAfterSeconds is set', async () => {
    const other = await startSimulator({
      rateLimits: { listImages: { limit: 0, windowMs: 60_000 } },
      retryAfterSeconds: 3,
    })
    try {
      const res = await fetch(`${other.url}/v2/cloudimages`, {
        headers: { 'x-auth-token': await getToken(other.url) },
      })
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe('3')
      expect(((await res.json()) as Record<string, string>).error_msg).toContain('time:1 minute')
    } finally {
      await other.close()
    }
  })
})
