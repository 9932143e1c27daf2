import { createImportStore, createQueues, enqueueSubmitBulk, newId, type Redis } from '@ims-importer/core'
import { quickImportBody } from './bodies.js'

/**
 * Creates `n` imports as the API does for a batch (records, then their submit jobs in bulk),
 * for one tenant and target. Returns the import ids in order.
 */
export async function createImports(redis: Redis, target: string, n: number, chunk = 500): Promise<string[]> {
  const store = createImportStore(redis)
  const queues = createQueues(redis)
  const ids: string[] = []
  try {
    for (let i = 0; i < n; i += chunk) {
      const inputs = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => ({
        id: newId('imp'),
        tenant: 'bench',
        target,
        request: quickImportBody(i + k),
      }))
      await store.createMany(inputs)
      await enqueueSubmitBulk(
        queues,
        inputs.map((x) => ({ target, importId: x.id })),
      )
      ids.push(...inputs.map((x) => x.id))
    }
  } finally {
    await queues.close()
  }
  return ids
}
