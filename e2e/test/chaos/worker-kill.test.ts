import type { ImportRecord } from '@ims-importer/core'
import { type ServiceProcess, sleep } from '@ims-importer/testkit'
import { describe, expect, inject, it } from 'vitest'
import {
  chaosScenario,
  expectAllSucceededOnce,
  importBody,
  loadChaosConfig,
  postImports,
} from '../../src/chaos/index.js'

const cfg = loadChaosConfig(process.env).workerKill

/** Imports whose POST reached IMS but whose job id was never recorded (a kill in between): adopted by marker. */
const adopted = (records: Map<string, ImportRecord>) =>
  [...records.values()].filter((r) => r.ims.adopted).length

// Worker processes SIGKILLed at random moments (while POSTs are on the wire, between a POST and
// recording its job id, mid-poll) and restarted, over the whole run: every import accepted by
// the API reaches a final state, none is lost, and IMS sees exactly one create per import.
describe('chaos: worker SIGKILLs', () => {
  const scenario = chaosScenario()

  it(
    `${cfg.imports} imports, workers killed at random and restarted: none lost, one create each`,
    async () => {
      const startedAt = Date.now()
      const { t, stack: s } = await scenario.startSimStack(
        'chaos-kill',
        {
          submitRate: 50,
          maxInFlight: 40,
          // A slower POST answer widens the window between the POST and recording its job id.
          // New images are listed 0.5 s after their POST: the worker taking over from a killed one
          // must not take an empty marker lookup as "never created" (SUBMIT_LOOKUP_SETTLE_MS, 1 s).
          sim: { faults: { latencyMs: 40, operations: ['quickImport'] }, listingDelayMs: 500 },
        },
        { redisUrl: inject('redisUrl'), workers: cfg.workers },
      )

      let kills = 0
      let stopping = false
      const restarts = new Set<Promise<unknown>>()
      const chaos = (async () => {
        while (!stopping) {
          await sleep(200 + Math.random() * 1500)
          const live = s.workers()
          // One worker at least keeps running while replacements boot (seconds on this machine).
          if (stopping || live.length < 2) continue
          const victim = live[Math.floor(Math.random() * live.length)] as ServiceProcess
          await victim.kill('SIGKILL')
          kills++
          const restart = s.spawnWorker().catch(() => undefined)
          restarts.add(restart)
          void restart.then(() => restarts.delete(restart))
        }
      })()

      const bodies = Array.from({ length: cfg.imports }, (_, i) => importBody(i))
      const intake = await postImports(s.api.url, s.auth, bodies, { concurrency: 12 })
      const ids = intake.accepted.map((a) => a.id)
      expect(intake.refused).toEqual({})
      expect(ids).toHaveLength(cfg.imports)

      const records = await s.waitFinal(
        ids,
        cfg.timeoutMs,
        () =>
          `kills ${kills}, live workers ${s.workers().length}, creates ${t.sim.control.counters().totalCreates}`,
      )
      stopping = true
      await chaos
      await Promise.all([...restarts])
      scenario.report(
        'worker SIGKILL at random moments, restarted',
        ids,
        records,
        [t.sim],
        `${kills} worker SIGKILLs among ${cfg.workers} workers; ${adopted(records)} imports found by marker after a crash between POST and recording; images listed 0.5 s after their POST`,
        startedAt,
      )

      const counters = expectAllSucceededOnce(ids, records, t.sim, s.logs())
      expect(counters.totalCreates).toBe(ids.length)
      expect(counters.peakConcurrentImports).toBeLessThanOrEqual(t.target.limits.maxInFlight)
      expect(kills).toBeGreaterThanOrEqual(cfg.minKills)
    },
    cfg.timeoutMs + 60_000,
  )
})
