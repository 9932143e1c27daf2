import { startRedisServer } from '@ims-importer/core/testing'
import { sleep } from '@ims-importer/testkit'
import { describe, expect, it } from 'vitest'
import {
  chaosScenario,
  expectAllSucceededOnce,
  importBody,
  loadChaosConfig,
  postImports,
} from '../../src/chaos/index.js'

const cfg = loadChaosConfig(process.env).redisCrash
/** How long Redis stays dead before it is restarted on its data directory. */
const DOWN_MS = 1500

// Redis with appendonly yes and appendfsync always is SIGKILLed while the API takes imports at
// full speed, then restarted on the same directory: every import that got a 202 is still there
// afterwards (fsync before the reply), and every one reaches a final state with one create.
describe('chaos: Redis SIGKILL during intake (AOF, fsync always)', () => {
  const scenario = chaosScenario()

  it(
    `${cfg.imports} POSTs, Redis killed ${cfg.crashes}x under load: every 202 present and final`,
    async () => {
      const startedAt = Date.now()
      const r = scenario.add(
        await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] }),
        (x) => x.stop(),
      )
      const { t, stack: s } = await scenario.startSimStack(
        'chaos-redis-kill',
        { submitRate: 50, maxInFlight: 40 },
        { redisUrl: r.url, workers: 2 },
      )

      // Crash points spread over the intake: after 1/(n+1), 2/(n+1), ... of the answers.
      const crashAt = Array.from({ length: cfg.crashes }, (_, i) =>
        Math.floor(((i + 1) * cfg.imports) / (cfg.crashes + 1)),
      )
      const crashes: Promise<void>[] = []
      const bodies = Array.from({ length: cfg.imports }, (_, i) => importBody(i))
      const intake = await postImports(s.api.url, s.auth, bodies, {
        concurrency: 16,
        // A client that retries a 503 after its Retry-After: intake goes on across the crash.
        retryUnavailable: 30,
        onAnswer: (answered) => {
          if (!crashAt.includes(answered)) return
          // In the background: the other POSTs go on while Redis is dead and comes back.
          crashes.push(
            (async () => {
              await r.kill?.()
              await sleep(DOWN_MS)
              await r.restart?.()
            })(),
          )
        },
      })
      await Promise.all(crashes)
      expect(crashes).toHaveLength(cfg.crashes)
      const ids = intake.accepted.map((a) => a.id)
      // The crashes happened during intake: POSTs were refused with 503 while Redis was down,
      // and accepted on retry once it was back.
      expect(intake.retried).toBeGreaterThan(0)
      expect(intake.refused).toEqual({})
      expect(ids).toHaveLength(cfg.imports)

      // Right after the last restart: every accepted import is in the store (read from disk).
      const present = await s.records(ids)
      expect(ids.filter((id) => !present.has(id))).toEqual([])

      const records = await s.waitFinal(ids, cfg.timeoutMs)
      scenario.report(
        `Redis SIGKILL during intake (appendfsync always), restarted`,
        ids,
        records,
        [t.sim],
        `${cfg.crashes} Redis kill(s), ${DOWN_MS / 1000} s down each, during intake at 16 concurrent POSTs; ${intake.retried} POSTs answered 503 while down and retried`,
        startedAt,
      )

      expectAllSucceededOnce(ids, records, t.sim, s.logs())
    },
    cfg.timeoutMs + 60_000,
  )
})
