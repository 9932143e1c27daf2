import { createQueues, createRedis } from '@ims-importer/core'
import { describe, expect, inject, it } from 'vitest'
import { PAGE_EXAMPLE, startTestApi } from './helpers.js'

/*
 * The record is written, then the submit enqueue fails. The rule (routes/imports.ts): no 202;
 * the record is removed so the 503 means "nothing accepted"; if the removal fails too, the record
 * stays `queued` without a job, where the worker's reconciler finds and enqueues it.
 * The queues run on their own real connection, closed after start, so BullMQ's add really fails
 * while the store keeps working.
 */
describe('enqueue failure after the record is written', () => {
  it('answers 503, removes the record, and releases the Idempotency-Key', async () => {
    const url = inject('redisUrl')
    const queueRedis = createRedis(url, { failFast: true })
    const api = await startTestApi(url, {}, (d) => ({ ...d, queues: createQueues(queueRedis, d.keys) }))
    try {
      const [A] = api.tenants
      queueRedis.disconnect()
      const send = () => api.post('/v1/imports', A, PAGE_EXAMPLE, { 'idempotency-key': 'enqueue-fails' })
      const res = await send()
      expect(res.statusCode).toBe(503)
      expect(res.headers['content-type']).toContain('application/problem+json')
      expect(res.json().detail).toContain('nothing was accepted')
      expect((await api.deps.store.list({ tenant: A })).items).toEqual([])
      // The key was released: a retry runs again (503 again here), it is not "in progress" (409).
      expect((await send()).statusCode).toBe(503)
      const batch = await api.post('/v1/batches', A, { items: [PAGE_EXAMPLE, PAGE_EXAMPLE] })
      expect(batch.statusCode).toBe(503)
      expect((await api.deps.store.list({ tenant: A })).items).toEqual([])
      // The batch itself, written while its jobs failed, is undone too.
      expect(await api.deps.redis.zcard(api.deps.keys.tenantBatches(A))).toBe(0)
      const metrics = await api.deps.metrics.registry.getSingleMetricAsString(
        'ims_importer_imports_rejected_total',
      )
      expect(metrics).toMatch(/reason="unavailable"[^\n]* 3/)
    } finally {
      await api.close()
    }
  })

  it('leaves the record queued for the reconciler when it cannot be removed either', async () => {
    const url = inject('redisUrl')
    const queueRedis = createRedis(url, { failFast: true })
    const api = await startTestApi(url, {}, (d) => ({
      ...d,
      queues: createQueues(queueRedis, d.keys),
      store: {
        ...d.store,
        remove: async () => {
          throw new Error("Stream isn't writeable and enableOfflineQueue options is false")
        },
      },
    }))
    try {
      const [A] = api.tenants
      queueRedis.disconnect()
      const res = await api.post('/v1/imports', A, PAGE_EXAMPLE)
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
