import { CreateRefusedError, type ImportRecord, type NewImport } from '@ims-importer/core'
import type { FastifyRequest } from 'fastify'
import type { RouteDeps } from './app.js'
import {
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requestHash,
  type StoredAnswer,
  type StoredResponse,
} from './idempotency.js'
import { HttpProblem, remainingMs, withDeadline } from './problem.js'
import { rateLimitedProblem } from './rate-limit.js'
import { requestLog } from './request-log.js'

export interface Accepted {
  response: StoredResponse
  replayed: boolean
}

/** How an intake route writes its import records: through the request's admission. */
export interface Admission {
  /**
   * Creates the records if the key's rate limit and Idempotency-Key let the request through,
   * with `answerOf(records)` stored as the key's answer in the same atomic step. When they do
   * not, nothing is written and acceptOnce answers (429, replay, 422 or 409).
   */
  create(
    inputs: NewImport[],
    answerOf: (records: ImportRecord[]) => StoredAnswer,
    now?: Date,
  ): Promise<ImportRecord[]>
}

/** What an intake route is: its name, its checked body, and how its stored answers replay. */
export interface IntakeRequest<T> {
  /** `POST /v1/imports`: part of the body hash, so one key cannot replay another route's answer. */
  route: string
  body: unknown
  /** The body's validation: what `work` takes, or why it is refused. */
  checked: { ok: true; value: T } | { ok: false; problem: HttpProblem }
  /** Epoch ms by which the Redis steps must be done. */
  deadline: number
  /** The answer for an import stored by id (StoredAnswer); null when the import is gone. */
  replayImport?: (importId: string) => Promise<StoredResponse | null>
}

/**
 * The intake routes' common path, in as few round trips as their guarantees allow:
 * 1. a body that failed validation (checked before any Redis work) or a malformed key takes the
 *    key's rate limit (the onRequest hook leaves these routes' limit to here), then gets 429 or
 *    its 400: a limited key gets 429 whatever it sends;
 * 2. otherwise `work` runs and writes its records through `admission.create`: one script takes
 *    the rate limit, looks up the Idempotency-Key, and writes the records with the answer beside
 *    them, or writes nothing and says why (429; same key + same body: the stored answer is
 *    replayed; a different body: 422);
 * 3. `work` then adds the submit job(s). The answer is stored before the job is added: a
 *    duplicate arriving in between is answered with it. When `work` fails afterwards it removes
 *    its records, and the key's answer is forgotten, so a retry runs anew.
 */
export async function acceptOnce<T>(
  deps: RouteDeps,
  req: FastifyRequest,
  intake: IntakeRequest<T>,
  work: (value: T, admission: Admission) => Promise<StoredResponse>,
): Promise<Accepted> {
  const { route, body, checked, deadline } = intake
  const header = req.headers['idempotency-key']
  const key = header === undefined ? null : ((Array.isArray(header) ? header[0] : header) ?? '')
  const keyProblem =
    key !== null && (!key || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key))
      ? new HttpProblem(
          'bad_request',
          `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
        )
      : null
  const keyId = req.apiKeyId as string
  const perMinute = deps.config.rateLimitPerMinute
  if (!checked.ok || keyProblem) {
    const decision = await withDeadline('rate limit', remainingMs(deadline), deps.rateLimiter.take(keyId))
    if (!decision.allowed) throw rateLimitedProblem(decision.retryAfterMs, perMinute)
    throw checked.ok ? keyProblem : checked.problem
  }

  const tenant = req.tenant as string
  const idempotency =
    key === null ? null : { key: deps.idempotency.keyOf(tenant, key), bodyHash: requestHash(route, body) }
  const guard = deps.rateLimiter.admissionGuard(keyId, idempotency)
  const admission: Admission = {
    create: (inputs, answerOf, now) =>
      deps.store.createMany(inputs, now, {
        guard,
        ...(idempotency && {
          companion: (records: ImportRecord[]) =>
            deps.idempotency.answer(idempotency.key, idempotency.bodyHash, answerOf(records)),
        }),
      }),
  }
  try {
    return { response: await work(checked.value, admission), replayed: false }
  } catch (err) {
    if (err instanceof CreateRefusedError) {
      const refusal = deps.rateLimiter.refusal(err.reply)
      if (refusal.limited) throw rateLimitedProblem(refusal.retryAfterMs, perMinute)
      if (refusal.kind === 'replay') {
        deps.metrics.replays.inc()
        return { response: refusal.response, replayed: true }
      }
      if (refusal.kind === 'replay_import') {
        const response = await withDeadline(
          'replay',
          remainingMs(deadline),
          intake.replayImport?.(refusal.importId) ?? Promise.resolve(null),
        )
        if (response) {
          deps.metrics.replays.inc()
          return { response, replayed: true }
        }
        // The import is gone: its request failed and is being undone (the key is forgotten next).
      }
      if (refusal.kind === 'mismatch')
        throw new HttpProblem(
          'idempotency_mismatch',
          'this Idempotency-Key was already used with a different request body; use a new key for a new request',
        )
      throw new HttpProblem(
        'idempotency_in_progress',
        'a request with this Idempotency-Key is still being handled; retry after it has finished',
        { headers: { 'retry-after': '1' } },
      )
    }
    // Nothing was accepted (work removed what it wrote, or the reconciler will finish a record
    // it could not remove): forget the answer stored with the records, so a retry runs.
    if (idempotency)
      await deps.idempotency
        .forget(idempotency.key, idempotency.bodyHash)
        .catch((e) => requestLog(req).warn({ error: (e as Error).message }, 'idempotency key not released'))
    throw err
  }
}
