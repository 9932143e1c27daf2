import { createRedis, isCluster, parseClusterUrl } from '@ims-importer/core'
import { startRedisCluster } from '@ims-importer/core/testing'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import {
  chaosScenario,
  expectFinalByKind,
  importBody,
  loadChaosConfig,
  oneInEach,
  postImports,
} from '../../src/chaos/index.js'

const cfg = loadChaosConfig(process.env).cluster
const kindOf = oneInEach(25)
const BATCH = 50

describe('redis+cluster:// URLs', () => {
  it('name the seed nodes and the shared credentials', () => {
    expect(parseClusterUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002')).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: undefined,
    })
    expect(parseClusterUrl('redis+cluster://app:s%40cret@redis-a:6380,redis-b')).toEqual({
      nodes: [
        { host: 'redis-a', port: 6380 },
        { host: 'redis-b', port: 6379 },
      ],
      username: 'app',
      password: 's@cret',
    })
  })
  it('refuse a malformed node without repeating the password', () => {
    expect(() => parseClusterUrl('redis+cluster://:hunter2@host:port:x')).toThrow(/bad node/)
    expect(() => parseClusterUrl('redis+cluster://:hunter2@host:port:x')).not.toThrow(/hunter2/)
    expect(() => parseClusterUrl('redis+cluster://')).toThrow(/no nodes/)
  })
})

// The whole service on a local three-master Redis Cluster (started here by the test helper, so
// the default run exercises it): the API (single POSTs and a batch, listing), two workers and the
// simulator. Every key carries the namespace's hash tag ({ims} in production, the stack's own
// here), so Lua scripts and MULTI stay in one slot.
describe('chaos: end to end on a Redis Cluster', () => {
  const scenario = chaosScenario()

  it(
    `${cfg.imports} imports through API, workers and simulator on 3 masters: all final, one create each`,
    async () => {
      const startedAt = Date.now()
      const cluster = scenario.add(await startRedisCluster(), (c) => c.stop())
      expect(cluster.ports).toHaveLength(3)
      const probe = createRedis(cluster.url)
      expect(isCluster(probe)).toBe(true)
      await probe.quit()

      const { sim, stack: s } = await scenario.startSimStack(
        'chaos-cluster',
        { submitRate: 50, maxInFlight: 40 },
        { redisUrl: cluster.url, workers: 2 },
      )

      const singles = cfg.imports - BATCH
      const bodies = Array.from({ length: singles }, (_, i) => importBody(i, kindOf(i)))
      const intake = await postImports(s.api.url, s.auth, bodies, { concurrency: 12 })
      expect(intake.refused).toEqual({})
      const accepted = [...intake.accepted]
      // A batch: one Lua script over many keys and a MULTI, all in the namespace's slot.
      const batch = await request(`${s.api.url}/v1/batches`, {
        method: 'POST',
        headers: { ...s.auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          items: Array.from({ length: BATCH }, (_, k) => importBody(singles + k, kindOf(singles + k))),
        }),
      })
      const batchBody = (await batch.body.json()) as { imports: { index: number; id: string }[] }
      expect(batch.statusCode).toBe(202)
      accepted.push(...batchBody.imports.map((i) => ({ index: singles + i.index, id: i.id })))
      const ids = accepted.map((a) => a.id)
      expect(ids).toHaveLength(cfg.imports)

      const records = await s.waitFinal(ids, cfg.timeoutMs)
      scenario.report(
        'end to end on a 3-master Redis Cluster',
        ids,
        records,
        [sim],
        `redis-cli --cluster create, 3 masters; ${singles} single POSTs + a batch of ${BATCH}; 2 workers; ${accepted.filter((a) => kindOf(a.index) !== 'ok').length} meant to fail (IMG.0057 job FAIL, IMG.0058 POST refused)`,
        startedAt,
      )

      expectFinalByKind(accepted, records, sim, s.logs(), kindOf)

      // Listing (a cursor over the tenant's index, a Lua script) sees every import once.
      const listed: string[] = []
      let cursor: string | null = null
      do {
        const res = await request(
          `${s.api.url}/v1/imports?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { headers: s.auth },
        )
        expect(res.statusCode).toBe(200)
        const page = (await res.body.json()) as { items: { id: string }[]; next_cursor: string | null }
        listed.push(...page.items.map((i) => i.id))
        cursor = page.next_cursor
      } while (cursor)
      expect(listed.sort()).toEqual([...ids].sort())
    },
    cfg.timeoutMs + 90_000,
  )
})
