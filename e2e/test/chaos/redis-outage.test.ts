import { startRedisServer } from '@ims-importer/core/testing'
import { readyz, sleep, waitUntil } from '@ims-importer/testkit'
import { describe, expect, it } from 'vitest'
import {
  chaosScenario,
  expectAllSucceededOnce,
  importBody,
  loadChaosConfig,
  postImports,
  startTcpProxy,
  timedPost,
} from '../../src/chaos/index.js'

const cfg = loadChaosConfig(process.env).outage

// Redis unreachable for 10 seconds (a proxy in front of it resets every connection, old and new;
// the server and its data stay): the API answers POST with 503 within a second, its /readyz
// fails, the workers pause (no IMS create while Redis is away) and their /readyz answers 503; when Redis
// is reachable again everything recovers by itself, the same processes, and the backlog completes.
describe('chaos: Redis unreachable for 10 s', () => {
  const scenario = chaosScenario()

  it(
    `${cfg.imports} imports in the backlog, ${cfg.outageMs / 1000} s outage: 503 fast, pause, recovery, all final`,
    async () => {
      const startedAt = Date.now()
      const redis = scenario.add(
        await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }),
        (x) => x.stop(),
      )
      const p = scenario.add(await startTcpProxy('127.0.0.1', Number(new URL(redis.url).port)), (x) =>
        x.close(),
      )
      // A slow target, so that a backlog is still waiting when Redis goes away.
      const { sim, stack: s } = await scenario.startSimStack(
        'chaos-outage',
        { submitRate: 10, maxInFlight: 20 },
        { redisUrl: p.url, observeUrl: redis.url, workers: 2 },
      )
      const workers = s.workers()

      const bodies = Array.from({ length: cfg.imports }, (_, i) => importBody(i))
      const intake = await postImports(s.api.url, s.auth, bodies, { concurrency: 8 })
      expect(intake.refused).toEqual({})
      const ids = intake.accepted.map((a) => a.id)
      await waitUntil('some imports created in IMS', () => sim.control.counters().totalCreates >= 20, 60_000)

      p.cut()
      const cutAt = Date.now()
      const during: { status: number | 'error'; ms: number }[] = []
      const apiReady: number[] = []
      const workerReady: number[] = []
      await sleep(1500)
      // Creates already on the wire at the cut may land; after that nothing reaches IMS.
      const createsPaused = sim.control.counters().totalCreates
      // POSTs now and then through the outage; a slow answer would show here.
      while (Date.now() - cutAt < cfg.outageMs - 2000) {
        during.push(await timedPost(s.api.url, s.auth, importBody(99_999)))
        apiReady.push(await readyz(s.api.url, 2000))
        for (const w of workers) workerReady.push(await readyz(w.url, 1000))
        await sleep(700)
      }
      await sleep(Math.max(0, cfg.outageMs - (Date.now() - cutAt)))
      const createsDuringPause = sim.control.counters().totalCreates - createsPaused
      p.restore()
      const restoredAt = Date.now()

      await waitUntil('the API ready again', async () => (await readyz(s.api.url)) === 200, 20_000)
      const apiBackMs = Date.now() - restoredAt
      for (const w of workers)
        await waitUntil('the worker ready again', async () => (await readyz(w.url)) === 200, 30_000)
      const after = await timedPost(s.api.url, s.auth, importBody(cfg.imports))
      expect(after.status).toBe(202)
      const allIds = after.id ? [...ids, after.id] : ids

      const records = await s.waitFinal(allIds, cfg.timeoutMs)
      const slowest = Math.max(...during.map((d) => d.ms))
      scenario.report(
        `Redis unreachable ${cfg.outageMs / 1000} s (connections reset)`,
        allIds,
        records,
        [sim],
        `POST during outage: ${during.length}x ${[...new Set(during.map((d) => d.status))].join('/')}, slowest ${Math.round(slowest)} ms; API /readyz ${[...new Set(apiReady)].join('/')}, worker /readyz ${[...new Set(workerReady)].map((x) => (x === 0 ? 'no answer in 1 s' : x)).join('/')}; ${createsDuringPause} IMS creates from 1.5 s after the cut on; API ready ${(apiBackMs / 1000).toFixed(1)} s after; same processes`,
        startedAt,
      )

      expect(during.length).toBeGreaterThanOrEqual(3)
      for (const d of during) {
        expect(d.status).toBe(503)
        expect(d.ms).toBeLessThan(1000)
      }
      for (const status of apiReady) expect(status).toBe(503)
      for (const status of workerReady) expect(status).toBe(503)
      expect(createsDuringPause).toBe(0)
      // Recovered without a restart: the very processes started before the outage.
      expect(s.api.alive()).toBe(true)
      for (const w of workers) expect(w.alive()).toBe(true)
      expect(s.workers()).toHaveLength(workers.length)

      expectAllSucceededOnce(allIds, records, sim, s.logs())
    },
    cfg.timeoutMs + 90_000,
  )
})
