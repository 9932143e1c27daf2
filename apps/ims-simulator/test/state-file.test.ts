import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { loadSimulatorConfig } from '../src/config.js'
import { type RunningSimulator, type SimulatorOptions, startSimulator } from '../src/index.js'
import { STATE_WRITE_DELAY_MS } from '../src/state-file.js'
import { getToken, must, sleep, VALID_SYSTEM_BODY } from './helpers.js'

interface Job {
  status: string
  job_id: string
  begin_time: string
  end_time: string | null
  entities: { image_id?: string; image_name?: string }
}

describe('state file: the simulator keeps its images and jobs across restarts', () => {
  let dir: string
  let file: string
  let lines: string[]
  const running: RunningSimulator[] = []

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sim-state-'))
    file = join(dir, 'state', 'simulator-state.json')
    lines = []
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((sim) => sim.close()))
    rmSync(dir, { recursive: true, force: true })
  })

  const start = async (options: SimulatorOptions = {}) => {
    const sim = await startSimulator({
      initMs: 300,
      jobDurationMs: { min: 1500, max: 1500 },
      stateFile: file,
      stateLog: (line) => lines.push(line),
      ...options,
    })
    running.push(sim)
    return { sim, token: await getToken(sim.url) }
  }
  const stop = async ({ sim }: { sim: RunningSimulator }) => {
    running.splice(running.indexOf(sim), 1)
    await sim.close()
  }
  const submit = async (s: { sim: RunningSimulator; token: string }, name: string) => {
    const res = await fetch(`${s.sim.url}/v2/cloudimages/quickimport/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': s.token },
      body: JSON.stringify({ ...VALID_SYSTEM_BODY, name, tags: [`ims_importer_id.${name}`] }),
    })
    expect(res.status).toBe(200)
    return must(((await res.json()) as { job_id?: string }).job_id, 'job_id')
  }
  const getJob = async (s: { sim: RunningSimulator; token: string }, jobId: string) => {
    const res = await fetch(`${s.sim.url}/v1/sim-project/jobs/${jobId}`, {
      headers: { 'x-auth-token': s.token },
    })
    return { status: res.status, body: (await res.json()) as Job }
  }

  it('a job survives close and restart: same job id, same begin, it progresses and ends as scheduled', async () => {
    const first = await start()
    expect(lines).toEqual([expect.stringMatching(/no state file at .*simulator-state\.json; starting empty/)])
    const jobId = await submit(first, 'survivor')
    const before = await getJob(first, jobId)
    expect(before.body.status).toBe('INIT')
    const beginMs = Date.parse(before.body.begin_time)
    await stop(first)

    const second = await start()
    expect(lines[1]).toMatch(/loaded 1 jobs \(1 not ended yet\) and 1 images from .*simulator-state\.json/)
    const after = await getJob(second, jobId)
    expect(after.status).toBe(200)
    expect(after.body).toMatchObject({ job_id: jobId, begin_time: before.body.begin_time })
    expect(['INIT', 'RUNNING']).toContain(after.body.status)

    // Ends on the schedule it was given before the restart (begin + 300 ms INIT + 1500 ms).
    await sleep(Math.max(0, beginMs + 1800 - Date.now()) + 100)
    const ended = await getJob(second, jobId)
    expect(ended.body.status).toBe('SUCCESS')
    expect(Date.parse(must(ended.body.end_time, 'end_time'))).toBe(beginMs + 1800)
    expect(ended.body.entities.image_name).toBe('survivor')
    expect(second.sim.control.counters().createsByMarker).toEqual({ survivor: 1 })
    expect(second.sim.control.quota().used).toBe(1)
  })

  it('a job that ended while the simulator was down answers SUCCESS with its scheduled end_time', async () => {
    const first = await start({ initMs: 0, jobDurationMs: { min: 200, max: 200 } })
    const jobId = await submit(first, 'ended-meanwhile')
    const beginMs = Date.parse((await getJob(first, jobId)).body.begin_time)
    await stop(first)
    await sleep(400)

    const second = await start()
    const job = await getJob(second, jobId)
    expect(job.body.status).toBe('SUCCESS')
    expect(Date.parse(must(job.body.end_time, 'end_time'))).toBe(beginMs + 200)
    expect(lines[1]).toMatch(/loaded 1 jobs \(0 not ended yet\)/)
  })

  it('is written within the write delay of a change, without a close (a killed simulator keeps it)', async () => {
    const s = await start()
    const jobId = await submit(s, 'written')
    await sleep(STATE_WRITE_DELAY_MS + 300)
    expect(readFileSync(file, 'utf8')).toContain(jobId)
    // No temporary file is left beside it.
    expect(readdirSync(join(dir, 'state'))).toEqual(['simulator-state.json'])
  })

  it('a seeded simulator restarted on its state does not hand out a job id again', async () => {
    const first = await start({ seed: 7 })
    const a = await submit(first, 'seeded-a')
    await stop(first)
    const second = await start({ seed: 7 })
    const b = await submit(second, 'seeded-b')
    expect(b).not.toBe(a)
    expect((await getJob(second, a)).body.job_id).toBe(a)
    expect(second.sim.control.jobs().map((j) => j.jobId)).toEqual([a, b])
  })

  it('a deleted image stays deleted and existingImages are not added again', async () => {
    const first = await start({ existingImages: 2 })
    expect(first.sim.control.quota().used).toBe(2)
    const [oldest] = first.sim.control.jobs()
    expect(first.sim.control.deleteImage(must(oldest).imageId ?? '')).toBe('deleted')
    await stop(first)
    const second = await start({ existingImages: 2 })
    expect(second.sim.control.quota().used).toBe(1)
  })

  it('a corrupt file: starts empty, says so in one line, moves the file aside, never crashes', async () => {
    const first = await start()
    await submit(first, 'before-corruption')
    await stop(first)
    const truncated = readFileSync(file, 'utf8').slice(0, 100)
    writeFileSync(file, truncated)

    const second = await start()
    expect(lines.at(-1)).toMatch(
      /simulator-state\.json is unreadable \(not JSON: .*\); moved it aside to .*simulator-state\.json\.unreadable-.*; starting empty/,
    )
    expect(second.sim.control.jobs()).toEqual([])
    const aside = readdirSync(join(dir, 'state')).filter((f) => f.includes('.unreadable-'))
    expect(aside).toHaveLength(1)
    expect(readFileSync(join(dir, 'state', must(aside[0])), 'utf8')).toBe(truncated)

    // It works and writes a good state again.
    const jobId = await submit(second, 'after-corruption')
    await stop(second)
    const third = await start()
    expect((await getJob(third, jobId)).status).toBe(200)
  })

  it('valid JSON that is not a state (or another version) is moved aside too', async () => {
    mkdirSync(join(dir, 'state'), { recursive: true })
    writeFileSync(file, JSON.stringify({ version: 2, images: [] }))
    const s = await start()
    expect(lines[0]).toMatch(/is unreadable \(not a simulator state: version: .*\); moved it aside/)
    expect(s.sim.control.jobs()).toEqual([])
    expect(existsSync(file)).toBe(false)
  })

  it('without a state file nothing is written (the default, as before)', async () => {
    const sim = await startSimulator({})
    running.push(sim)
    await sim.close()
    running.splice(0)
    expect(readdirSync(dir)).toEqual([])
  })

  it('SIM_STATE_FILE sets the option', () => {
    expect(loadSimulatorConfig({ SIM_STATE_FILE: '/tmp/x.json' }).stateFile).toBe('/tmp/x.json')
    expect(loadSimulatorConfig({}).stateFile).toBeUndefined()
  })
})
