import { beforeEach, describe, expect, it } from 'vitest'
import { drawJobDurationMs } from '../src/image-store.js'
import { createRng } from '../src/rng.js'
import { eventually, must, useSimulator, VALID_SYSTEM_BODY } from './helpers.js'

interface Job {
  status: string
  begin_time: string
  end_time: string | null
  entities: { current_task?: string; process_percent?: number }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

describe('drawJobDurationMs', () => {
  it('uniform (the default) is one rng.int draw, so seeded runs keep their durations', () => {
    const a = createRng(42)
    const b = createRng(42)
    for (let i = 0; i < 100; i++)
      expect(drawJobDurationMs({ min: 1000, max: 3000 }, a)).toBe(b.int(1000, 3000))
  })

  it('lognormal stays within [min, max], centres on the median and has a long upper tail', () => {
    const rng = createRng(7)
    // 5 to 60 min with a median of 12 min, at 1 s : 1 min.
    const spec = { min: 5000, max: 60_000, distribution: 'lognormal', median: 12_000 } as const
    const draws = Array.from({ length: 20_000 }, () => drawJobDurationMs(spec, rng))
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(5000)
    expect(Math.max(...draws)).toBeLessThanOrEqual(60_000)
    // Truncation below moves the median up a little (about 10% of the law lies under min).
    expect(median(draws)).toBeGreaterThan(12_000)
    expect(median(draws)).toBeLessThan(14_500)
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length
    expect(mean).toBeGreaterThan(median(draws))
    // A long tail: a few percent beyond 3x the median, none beyond max.
    const beyond = draws.filter((d) => d > 36_000).length / draws.length
    expect(beyond).toBeGreaterThan(0.02)
    expect(beyond).toBeLessThan(0.1)
  })

  it('lognormal without a median centres on the geometric mean of min and max', () => {
    const rng = createRng(3)
    const draws = Array.from({ length: 5000 }, () =>
      drawJobDurationMs({ min: 100, max: 10_000, distribution: 'lognormal' }, rng),
    )
    expect(median(draws)).toBeGreaterThan(800)
    expect(median(draws)).toBeLessThan(1250)
  })
})

describe('simulator job options', () => {
  const s = useSimulator({ initMs: 50, jobDurationMs: { min: 1500, max: 1500 }, reportProgress: false })
  beforeEach(() => s.sim.control.reset())

  const submit = async (body: Record<string, unknown> = VALID_SYSTEM_BODY) => {
    const res = await fetch(`${s.sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': s.token },
      body: JSON.stringify(body),
    })
    expect(res.status).toBe(200)
    return must(((await res.json()) as { job_id?: string }).job_id)
  }
  const getJob = async (jobId: string) => {
    const res = await fetch(`${s.sim.url}/v1/sim-project/jobs/${jobId}`, {
      headers: { 'x-auth-token': s.token },
    })
    expect(res.status).toBe(200)
    return (await res.json()) as Job
  }

  it('reportProgress: false answers a RUNNING job without process_percent', async () => {
    s.sim.control.setSpeed({ initMs: 50, jobDurationMs: { min: 1500, max: 1500 } })
    const jobId = await submit()
    const running = await eventually(async () => {
      const job = await getJob(jobId)
      return job.status === 'RUNNING' ? job : undefined
    })
    expect(running.entities.current_task).toBe('imsImportImageTask')
    expect(running.entities).not.toHaveProperty('process_percent')
    const done = await eventually(async () => {
      const job = await getJob(jobId)
      return job.status === 'SUCCESS' ? job : undefined
    }, 5000)
    expect(done.end_time).not.toBeNull()
  })

  it('lognormal durations: every job runs within [min, max] (begin_time to end_time, INIT included)', async () => {
    const spec = { min: 100, max: 600, distribution: 'lognormal', median: 200 } as const
    s.sim.control.setSpeed({ initMs: 50, jobDurationMs: spec })
    const jobIds: string[] = []
    for (let i = 0; i < 20; i++) jobIds.push(await submit({ ...VALID_SYSTEM_BODY, name: `lognormal-${i}` }))
    for (const jobId of jobIds) {
      const job = await eventually(async () => {
        const j = await getJob(jobId)
        return j.end_time === null ? undefined : j
      }, 5000)
      const ms = Date.parse(job.end_time as string) - Date.parse(job.begin_time)
      expect(ms).toBeGreaterThanOrEqual(50 + spec.min)
      expect(ms).toBeLessThanOrEqual(50 + spec.max)
    }
  })
})
