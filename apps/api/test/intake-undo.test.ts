import { createQueues, createRedis } from '@ims-importer/core'
import { describe, expect, inject, it } from 'vitest'
import type { ApiDeps } from '../src/deps.js'
import { PAGE_EXAMPLE, startTestApi } from './helpers.js'

/*
 * The intake's submit work is written with its records (the submit outbox, moved onto the
 * queues by the workers: docs/intake-admission.md), so the API needs no BullMQ call to accept.
 * A batch's outbox entries are written with the batch record, after its records: when that
 * write fails, the rule (routes/batches.ts) is no 202 and nothing accepted; what cannot be
 * removed stays queued, where the worker's reconciler finds and enqueues it.
 */

/** A Redis write while the connection is down: what ioredis throws with the offline queue off. */
const redisDown = async (): Promise<never> => {
  throw new Error("Stream isn't writeable and enableOfflineQueue options is false")
}
/** The deps of an API whose batch record write fails. */
const batchWriteFails = (d: ApiDeps): ApiDeps => ({ ...d, batches: { ...d.batches, create: redisDown } })

describe('intake without the queues, and its undo', () => {
  it('accepts an import and a batch while BullMQ’s connection is down: their submit work is in the outbox', async () => {
    const url = inject('redisUrl')
    const queueRedis = createRedis(url, { failFast: true })
    const api = await startTestApi(url, {}, (d) => ({ ...d, queues: createQueues(queueRedis, d.keys) }))
    try {
      const [A] = api.tenants
      queueRedis.disconnect()
      const res = await api.post('/v1/imports', A, PAGE_EXAMPLE, { 'idempotency-key': 'queues-down' })
      expect(res.statusCode).toBe(202)
      const batch = await api.post('/v1/batches', A, { items: [PAGE_EXAMPLE, PAGE_EXAMPLE] })
      expect(batch.statusCode).toBe(202)
      const items = (await api.deps.store.list({ tenant: A })).items
      expect(items).toHaveLength(3)
      const outbox = await api.deps.redis.lrange(api.deps.keys.submitOutbox, 0, -1)
      for (const r of items) {
        expect(r.status).toBe('queued')
        expect(outbox).toContain(`${r.target} ${r.id}`)
      }
    } finally {
      await api.close()
    }
  })

  it('a batch whose batch write fails answers 503, removes its records and their submit work, and releases the key', async () => {
    const url = inject('redisUrl')
    const api = await startTestApi(url, {}, batchWriteFails)
    try {
      const [A] = api.tenants
      const send = () =>
        api.post(
          '/v1/batches',
          A,
          { items: [PAGE_EXAMPLE, PAGE_EXAMPLE] },
          { 'idempotency-key': 'batch-fails' },
        )
      const res = await send()
      expect(res.statusCode).toBe(503)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.json().detail).toContain('nothing was accepted')
      expect((await api.deps.store.list({ tenant: A })).items).toEqual([])
      expect(await api.submitJobs(api.targets[0])).toBe(0)
      // The key was released: a retry runs again (503 again here), it is not "in progress" (409).
      expect((await send()).statusCode).toBe(503)
      expect(await api.deps.redis.zcard(api.deps.keys.tenantBatches(A))).toBe(0)
      const metrics = await api.deps.metrics.registry.getSingleMetricAsString(
        'ims_importer_imports_rejected_total',
      )
      expect(metrics).toMatch(/reason="unavailable"[^\n]* 2/)
    } finally {
      await api.close()
    }
  })

  it('leaves the records queued for the reconciler when they cannot be removed either', async () => {
    const url = inject('redisUrl')
    const api = await startTestApi(url, {}, (d) => ({
      ...batchWriteFails(d),
      store: { ...d.store, remove: redisDown },
    }))
    try {
      const [A] = api.tenants
      const res = await api.post('/v1/batches', A, { items: [PAGE_EXAMPLE] })
      expect(res.statusCode).toBe(503)
      const left = (await api.deps.store.list({ tenant: A })).items
      expect(left).toHaveLength(1)
      expect(left[0]?.status).toBe('queued')
      expect(await api.deps.store.idsByStatus('queued', 100_000)).toContain(left[0]?.id)
    } finally {
      await api.close()
    }
  })
})
