import type { FastifyRequest } from 'fastify'
import type { RouteDeps } from './app.js'
import { MAX_IDEMPOTENCY_KEY_LENGTH, requestHash, type StoredResponse } from './idempotency.js'
import { HttpProblem, remainingMs, withDeadline } from './problem.js'
import { requestLog } from './request-log.js'

export interface Accepted {
  response: StoredResponse
  replayed: boolean
}

/**
 * Runs `work` (write the record(s) and their submit job(s), answer 202) under the request's
 * Idempotency-Key, if any: same key + same body replays the stored answer, a different body is
 * 422, a request still being handled is 409. A failed `work` releases the key so a retry runs.
 */
export async function acceptOnce(
  deps: RouteDeps,
  req: FastifyRequest,
  route: string,
  body: unknown,
  /** Epoch ms by which the Redis steps must be done. */
  deadline: number,
  work: () => Promise<StoredResponse>,
): Promise<Accepted> {
  const header = req.headers['idempotency-key']
  if (header === undefined) return { response: await work(), replayed: false }
  const key = Array.isArray(header) ? header[0] : header
  if (!key || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key))
    throw new HttpProblem(
      'bad_request',
      `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
    )
  const tenant = req.tenant as string
  const hash = requestHash(route, body)
  const begun = await withDeadline(
    'idempotency',
    remainingMs(deadline),
    deps.idempotency.begin(tenant, key, hash),
  )
  if (begun.kind === 'replay') {
    deps.metrics.replays.inc()
    return { response: begun.response, replayed: true }
  }
  if (begun.kind === 'mismatch')
    throw new HttpProblem(
      'idempotency_mismatch',
      'this Idempotency-Key was already used with a different request body; use a new key for a new request',
    )
  if (begun.kind === 'in_progress')
    throw new HttpProblem(
      'idempotency_in_progress',
      'a request with this Idempotency-Key is still being handled; retry after it has finished',
      { headers: { 'retry-after': '1' } },
    )
  let response: StoredResponse
  try {
    response = await work()
  } catch (err) {
    await deps.idempotency
      .release(tenant, key, hash)
      .catch((e) => requestLog(req).warn({ error: (e as Error).message }, 'idempotency key not released'))
    throw err
  }
  // The import is accepted at this point; if the answer cannot be stored, the claim expires after
  // its lease and a retry with the same key would be taken as new. Logged, not failed: the 202 is true.
  await withDeadline(
    'idempotency',
    Math.max(250, remainingMs(deadline)),
    deps.idempotency.complete(tenant, key, hash, response),
  ).catch((e) => requestLog(req).error({ error: (e as Error).message }, 'idempotent answer not stored'))
  return { response, replayed: false }
}
