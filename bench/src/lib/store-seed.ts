import { createAdmission, newId, type Redis } from '@ims-importer/core'
import { quickImportBody } from './bodies.js'

/**
 * Creates `n` imports as the API does (core admission: the records with their submit-outbox
 * entries; a worker's drainer adds their submit jobs), for one tenant and target, `chunk` per
 * admission as a batch's items. Returns the import ids in order.
 */
export async function createImports(redis: Redis, target: string, n: number, chunk = 500): Promise<string[]> {
  const admission = createAdmission(redis)
  const ids: string[] = []
  for (let i = 0; i < n; i += chunk) {
    const inputs = Array.from({ length: Math.min(chunk, n - i) }, (_, k) => ({
      id: newId('imp'),
      tenant: 'bench',
      target,
      request: quickImportBody(i + k),
      external_id: null,
      callback_url: null,
    }))
    const made = await admission.admit({
      // The bench's own key, its limit out of the way.
      rateLimit: { keyId: 'bench-seed', perMinute: 1e7 },
      idempotency: null,
      imports: inputs,
    })
    if (made.kind !== 'created') throw new Error(`bench seed: admission answered ${made.kind}`)
    ids.push(...inputs.map((x) => x.id))
  }
  return ids
}
