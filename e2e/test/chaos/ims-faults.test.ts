import { sleep } from '@ims-importer/testkit'
import type { Faults } from 'ims-simulator'
import { describe, expect, inject, it } from 'vitest'
import {
  type Accepted,
  chaosScenario,
  duplicateMarkers,
  EXPECTED_CODE,
  expectFinalByKind,
  type ImportKind,
  importBody,
  loadChaosConfig,
  lostWithStatus,
  oneInEach,
  postImports,
  reportRow,
  started,
  startSimStack,
  summarize,
} from '../../src/chaos/index.js'

const cfg = loadChaosConfig(process.env).imsFaults

/** One import in ten ends FAIL in IMS (IMG.0057), one in ten is refused at the POST (IMG.0058). */
const kindOf = oneInEach(10)

/**
 * IMS lists a new image this long after its POST, throughout: a marker lookup right after an
 * uncertain answer finds nothing yet, and only the worker's settle time (SUBMIT_LOOKUP_SETTLE_MS,
 * 1 s in CHAOS_WORKER_ENV) keeps it from POSTing a second time.
 */
const LISTING_DELAY_MS = 500

const PHASES: { name: string; faults: Faults; ms?: number }[] = [
  { name: '429 storm', faults: { throttleRate: 1 } },
  { name: '50% 5xx', faults: { errorRate: 0.5 } },
  // Long enough for answers delayed 5 s to come back within the phase.
  { name: '5 s latency', faults: { latencyMs: 5000 }, ms: 7000 },
  { name: 'resets before processing', faults: { resetBeforeRate: 0.3 } },
  { name: 'resets after processing', faults: { resetAfterRate: 0.3 } },
  { name: 'malformed JSON', faults: { malformedJsonRate: 0.3 } },
]

// IMS misbehaves in phases while imports flow (a wave of new imports at the start of each
// phase; faults on quick import, job status and image listing): every import ends final with
// the right classification (permanent failures keep their IMS code, transient faults end in
// success), and IMS sees exactly one create for each import that reached it.
//
// A 5xx period fails an import only after SUBMIT_MAX_ATTEMPTS POSTs and SUBMIT_RETRY_WINDOW_MS
// (30 min) since the first failed: far longer than any phase here.
describe('chaos: IMS fault phases', () => {
  const scenario = chaosScenario()

  it(
    `${cfg.imports} imports through ${PHASES.map((p) => p.name).join(', ')}: right final states, one create each`,
    async () => {
      const startedAt = Date.now()
      const { sim, stack: s } = await scenario.startSimStack(
        'chaos-ims',
        { submitRate: 20, maxInFlight: 30 },
        { redisUrl: inject('redisUrl'), workers: 2 },
      )
      sim.control.setSpeed({ listingDelayMs: LISTING_DELAY_MS })

      const perWave = Math.ceil(cfg.imports / PHASES.length)
      const accepted: Accepted[] = []
      for (const [w, phase] of PHASES.entries()) {
        sim.control.setFaults(phase.faults)
        const from = w * perWave
        const bodies = Array.from({ length: Math.min(perWave, cfg.imports - from) }, (_, k) =>
          importBody(from + k, kindOf(from + k)),
        )
        // The API does not talk to IMS: intake is unaffected by the faults.
        const intake = await postImports(s.api.url, s.auth, bodies, { concurrency: 8 })
        expect(intake.refused).toEqual({})
        accepted.push(...intake.accepted.map((a) => ({ index: a.index + from, id: a.id })))
        await sleep(phase.ms ?? cfg.phaseMs)
        // A quiet moment between phases, as between real incidents.
        sim.control.setFaults({})
        await sleep(cfg.phaseMs / 2)
      }
      const ids = accepted.map((a) => a.id)
      expect(ids).toHaveLength(cfg.imports)

      const records = await s.waitFinal(ids, cfg.timeoutMs)
      const byKind = (k: ImportKind) => accepted.filter((a) => kindOf(a.index) === k)
      const adopted = [...records.values()].filter((r) => r.ims.adopted).length
      const killed = [...records.values()].filter((r) => r.error?.code === 'image_killed').length
      scenario.report(
        'IMS faults: 429 storm, 50% 5xx, 5 s latency, resets before/after, malformed JSON',
        ids,
        records,
        [sim],
        `${PHASES.length} phases of ${cfg.phaseMs / 1000} s (latency 7 s), images listed ${LISTING_DELAY_MS} ms after their POST; expected: ${byKind('ok').length} succeeded, ${byKind('fail').length} failed IMG.0057 (job FAIL; ${killed} of them adopted, so seen as image_killed), ${byKind('reject').length} failed IMG.0058 (POST refused); ${adopted} adopted by marker after an uncertain answer`,
        startedAt,
      )

      expectFinalByKind(accepted, records, sim, s.logs(), kindOf, (kind, r) => {
        if (kind === 'ok') return r.status === 'succeeded' && r.ims.image_id !== null
        // An import adopted after an uncertain POST answer has no job id (IMS returns it only in
        // that answer, and lists no jobs): it is followed by its image, so a FAIL shows as the
        // image `killed`, the IMS code being unknowable.
        const code = kind === 'fail' && r.ims.adopted ? 'image_killed' : EXPECTED_CODE[kind]
        return r.status === 'failed' && r.error?.source === 'ims' && r.error.code === code
      })

      // Every phase really happened on the wire.
      const counters = sim.control.counters()
      const answered = (status: string) =>
        Object.values(counters.responses).reduce((sum, byStatus) => sum + (byStatus[status] ?? 0), 0)
      expect(answered('429')).toBeGreaterThan(0)
      expect(answered('500') + answered('503')).toBeGreaterThan(0)
      expect(answered('0')).toBeGreaterThan(0)
      expect(adopted).toBeGreaterThan(0)
    },
    cfg.timeoutMs + 120_000,
  )

  // Found by the long run: when every in-flight place is held by an import waiting for its
  // resubmission (a 5xx on its POST), the queued imports in front of it must not hold the line.
  it('a full in-flight cap of imports awaiting resubmission does not stall the queue behind them', async () => {
    const startedAt = Date.now()
    const capRunning = started()
    try {
      const { t: capped, stack: capStack } = await startSimStack(
        capRunning,
        'chaos-cap',
        { submitRate: 20, maxInFlight: 4, sim: { faults: { errorRate: 1, operations: ['quickImport'] } } },
        { redisUrl: inject('redisUrl'), workers: 1 },
      )
      const bodies = Array.from({ length: 40 }, (_, i) => importBody(50_000 + i))
      const intake = await postImports(capStack.api.url, capStack.auth, bodies, {
        concurrency: 8,
      })
      const ids = intake.accepted.map((a) => a.id)
      expect(ids).toHaveLength(40)
      // Every POST fails for a while: the first imports take every place and wait to retry.
      await sleep(2500)
      capped.sim.control.setFaults({})
      const records = await capStack.waitFinal(ids, 60_000)
      reportRow(
        summarize(
          'in-flight cap full of imports awaiting resubmission',
          ids,
          records,
          [capped.sim],
          'cap 4, every POST 5xx for 2.5 s, 36 imports queued behind',
          startedAt,
        ),
        inject('chaosResultsFile'),
      )
      expect(lostWithStatus(ids, records)).toEqual([])
      expect([...records.values()].filter((r) => r.status !== 'succeeded').map((r) => r.error)).toEqual([])
      expect(duplicateMarkers([capped.sim])).toEqual([])
    } finally {
      await capRunning.close()
    }
  }, 150_000)
})
