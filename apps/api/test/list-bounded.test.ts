import { createImportStore, createRedis, type NewImport, newId } from '@ims-importer/core'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { PAGE_EXAMPLE, startTestApi, type TestApi } from './helpers.js'

/*
 * GET /v1/imports over 10,000 imports of one tenant (issue 16: `?target=nomatch&limit=1` read up
 * to 10,000 records, 0.82 s). Every filter the API serves walks an index whose entries match, or
 * a bounded one, so the work per request is bounded: asserted as records read, not as time (a
 * loaded machine slows anything). The timings are printed beside a baseline: the same listing
 * through the store's unindexed scan (what `?target=` did before), in the same run.
 */

const N = 10_000
const RUNS = 200

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number
}
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms`

describe('list filters over 10,000 imports', () => {
  let api: TestApi
  let tenant: string
  let t1: string
  let t2: string
  beforeAll(async () => {
    api = await startTestApi(inject('redisUrl'))
    ;[tenant] = api.tenants as [string, string]
    ;[t1, t2] = api.targets
    // 9,990 in t1 (the tenant's default), 10 in t2, all queued; one record read is one import.
    // Written on a connection of its own: the API's fails fast (1 s per command), and a script
    // writing 1000 records can take longer on a loaded machine.
    const seeder = createRedis(inject('redisUrl'))
    const seed = createImportStore(seeder, { keys: api.deps.keys })
    for (let i = 0; i < N; i += 1000) {
      const chunk: NewImport[] = Array.from({ length: 1000 }, (_, j) => ({
        id: newId('imp'),
        tenant,
        target: i + j < 10 ? t2 : t1,
        request: PAGE_EXAMPLE,
        external_id: `ext-${i + j}`,
      }))
      await seed.createMany(chunk, new Date(Date.now() - N + i))
    }
    await seeder.quit()
  }, 60_000)
  afterAll(async () => {
    await api?.close()
  })

  it('reads at most a page of records per request whatever the filter, and prints p50/p99 against the old scan', async () => {
    const mget = vi.spyOn(api.deps.redis, 'mget')
    const recordsRead = () =>
      mget.mock.calls.reduce((n, [keys]) => n + (keys as unknown as string[]).length, 0)
    const queries: [string, number][] = [
      [`target=${t2}&limit=1`, 1],
      [`target=${t2}&limit=50`, 10],
      [`target=${t1}&limit=1`, 1],
      ['status=failed&limit=1', 0],
      ['external_id=nomatch&limit=1', 0],
      ['external_id=ext-5000&limit=1', 1],
      [`batch_id=bat_${'0'.repeat(26)}&limit=1`, 0],
      ['limit=50', 50],
    ]
    const lines: string[] = []
    let worstP99 = 0
    for (const [q, expected] of queries) {
      const times: number[] = []
      mget.mockClear()
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now()
        const res = await api.app.inject({ url: `/v1/imports?${q}`, headers: api.auth(tenant) })
        times.push(performance.now() - t)
        expect(res.statusCode, q).toBe(200)
        expect(res.json().items, q).toHaveLength(expected)
      }
      const limit = Number(/limit=(\d+)/.exec(q)?.[1])
      // Bounded work: a page and the one entry that tells whether another page exists.
      expect(recordsRead() / RUNS, q).toBeLessThanOrEqual(limit + 1)
      worstP99 = Math.max(worstP99, pct(times, 99))
      lines.push(
        `  ${q.padEnd(40)} ${fmt(times)}, records read per request ${(recordsRead() / RUNS).toFixed(1)}`,
      )
    }
    mget.mockRestore()

    // Baseline: the unindexed scan `?target=<t2>&limit=1` took before (walk the tenant's imports,
    // filter by target), through the store with the scan budget it had (10,000).
    const scanning = createImportStore(api.deps.redis, { keys: api.deps.keys, listScanBudget: N })
    const base: number[] = []
    for (let i = 0; i < 20; i++) {
      const t = performance.now()
      // status=queued + target: the store's remaining scan path (every import here is queued).
      const page = await scanning.list({ tenant, status: 'queued', target: 'nomatch', limit: 1 })
      base.push(performance.now() - t)
      expect(page.items).toHaveLength(0)
    }
    console.log(
      [
        `GET /v1/imports over ${N} imports of one tenant, ${RUNS} sequential requests each (app.inject, real Redis):`,
        ...lines,
        `  baseline: the old unindexed scan (store.list, 10,000 records read) ${fmt(base)}`,
        `  worst p99 of the served filters ${worstP99.toFixed(2)} ms; ratio to the baseline's p50 ${(worstP99 / pct(base, 50)).toFixed(3)}`,
      ].join('\n'),
    )
  }, 120_000)

  it("prints another tenant's p50 alone and under a flood of the heaviest listing this tenant may send", async () => {
    const other = api.tenants[1]
    await api.post('/v1/imports', other, PAGE_EXAMPLE)
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
    /** The other tenant lists every 10 ms for `ms`, while this tenant sends `perSecond` full pages of 500. */
    const sample = async (ms: number, perSecond: number) => {
      let on = true
      const heavy: Promise<unknown>[] = []
      const flood = (async () => {
        while (on && perSecond > 0) {
          heavy.push(api.app.inject({ url: `/v1/imports?target=${t1}&limit=500`, headers: api.auth(tenant) }))
          await sleep(1000 / perSecond)
        }
      })()
      const times: number[] = []
      const end = Date.now() + ms
      while (Date.now() < end) {
        const t = performance.now()
        await api.app.inject({ url: '/v1/imports?limit=10', headers: api.auth(other) })
        times.push(performance.now() - t)
        await sleep(10)
      }
      on = false
      await flood
      await Promise.all(heavy)
      return times
    }
    const alone = await sample(3000, 0)
    const lines = [`another tenant's GET /v1/imports?limit=10 (every 10 ms for 3 s): alone ${fmt(alone)}`]
    // 2/s: the flood; 10/s: the default rate limit (600 a minute) spent on the heaviest page.
    for (const perSecond of [2, 10]) {
      const under = await sample(3000, perSecond)
      lines.push(
        `  under ${perSecond} pages of 500 a second from the flooding tenant: ${fmt(under)}; p50 ratio ${(pct(under, 50) / pct(alone, 50)).toFixed(2)}`,
      )
    }
    console.log(lines.join('\n'))
  }, 60_000)
})
