import type { AdmitResult, IdempotencyClaim, RateLimit } from '@ims-importer/core'
import type { FastifyReply, FastifyRequest, FastifySchemaCompiler } from 'fastify'
import { validatorCompiler } from 'fastify-type-provider-zod'
import type { ApiDeps } from './deps.js'
import { MAX_IDEMPOTENCY_KEY_LENGTH, requestHash, type StoredResponse } from './idempotency.js'
import {
  type FieldError,
  HttpProblem,
  isRedisOutOfMemory,
  problemResponses,
  rateLimitedProblem,
  remainingMs,
  storeFullProblem,
  withDeadline,
} from './problem.js'
import { requestLog } from './request-log.js'
import { IdempotencyHeaders } from './schemas.js'

/*
 * What the two intake routes (POST /v1/imports, POST /v1/batches) share. Each one: checks its
 * body and Idempotency-Key (checkIntake), admits its records with core's admission (one script:
 * rate limit, key lookup, records and the key's answer; docs/intake-admission.md) and switches on
 * the result; when a write fails it undoes what may have landed and answers that nothing was
 * accepted (nothingAccepted, which forgets the key).
 */

/**
 * Bodies and headers of the intake routes are documented by their zod schemas but validated in
 * the handler (parseImportRequest: IMS error codes, batch items one by one; checkIntake: the
 * Idempotency-Key), so the hot path does not copy them through zod twice; other parts go
 * through zod.
 */
export const bodyInHandler: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' || route.httpPart === 'headers'
    ? (data: unknown) => ({ value: data })
    : (validatorCompiler as FastifySchemaCompiler<unknown>)(route)

/**
 * The route options both intake routes share: the body and Idempotency-Key checked in the
 * handler (bodyInHandler), the rate limit taken there too, a key required, and the problems
 * either can answer; `schema` adds the route's own documentation, body and 202 answer.
 */
export function intakeRoute<B, A>(schema: {
  summary: string
  description: string
  tags: string[]
  body: B
  accepted: A
}) {
  const { accepted, ...rest } = schema
  return {
    validatorCompiler: bodyInHandler,
    config: { rateLimit: 'in-handler' as const },
    schema: {
      ...rest,
      security: [{ bearer: [] }],
      headers: IdempotencyHeaders,
      response: { 202: accepted, ...problemResponses(400, 401, 403, 409, 413, 415, 422, 429, 503) },
    },
  }
}

/** A body checked by its route: the value to admit, or why it is refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problem: HttpProblem }

/** The caller's rate limit (its key id and policy are set by the onRequest hook): its tenant's, else the service's. */
export const rateLimitOf = (deps: ApiDeps, req: FastifyRequest): RateLimit => ({
  keyId: req.apiKeyId as string,
  perMinute: req.principal?.policy.rateLimitPerMinute ?? deps.config.rateLimitPerMinute,
})

/**
 * The request's Idempotency-Key claim (null without the header), once its body and key are
 * good. A bad body or key still takes the key's rate limit, so a limited key gets 429 whatever
 * it sends; otherwise its 400.
 */
export async function checkIntake<T>(
  deps: ApiDeps,
  req: FastifyRequest,
  route: string,
  checked: Checked<T>,
  deadline: number,
): Promise<{ value: T; claim: IdempotencyClaim | null }> {
  const header = req.headers['idempotency-key']
  const key = header === undefined ? null : ((Array.isArray(header) ? header[0] : header) ?? '')
  const keyProblem =
    key !== null && (!key || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key))
      ? new HttpProblem(
          'bad_request',
          `Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters`,
        )
      : null
  if (!checked.ok || keyProblem) {
    const limit = rateLimitOf(deps, req)
    const decision = await withDeadline(
      'rate limit',
      remainingMs(deadline),
      deps.admission.takeRateLimit(limit),
    )
    if (!decision.allowed) throw rateLimitedProblem(decision.retryAfterMs, limit.perMinute)
    throw checked.ok ? keyProblem : checked.problem
  }
  const claim =
    key === null ? null : { tenant: req.tenant as string, key, bodyHash: requestHash(route, req.body) }
  return { value: checked.value, claim }
}

/** The answer to an admission that neither created nor replayed. */
export function refusal(
  result: Exclude<AdmitResult, { kind: 'created' | 'replay' }>,
  perMinute: number,
): Error {
  switch (result.kind) {
    case 'limited':
      return rateLimitedProblem(result.retryAfterMs, perMinute)
    case 'mismatch':
      return new HttpProblem(
        'idempotency_mismatch',
        'this Idempotency-Key was already used with a different request body; use a new key for a new request',
      )
    case 'in_progress':
      return new HttpProblem(
        'idempotency_in_progress',
        'a request with this Idempotency-Key is still being handled; retry after it has finished',
        { headers: { 'retry-after': '1' } },
      )
    case 'exists':
      // Ids are random and fresh per request: a taken one is a bug, answered 500.
      return new Error(`import id ${result.importId} is taken`)
    case 'over_quota':
      // Retry-After: a hint for clients that wait on 429; imports take minutes to hours.
      return new HttpProblem(
        'rate_limited',
        `the tenant has ${result.open} imports not yet final and may have at most ${result.cap}; this request would go past that: retry once some have finished`,
        { headers: { 'retry-after': '60' } },
      )
  }
}

/**
 * The answer to a body that breaks rules: 403 when it breaks only its tenant's policy (a target
 * or bucket it may not use), naming the rule in `detail`; else 400 with every error.
 */
export function bodyProblem(errors: FieldError[], forbidden: boolean): HttpProblem {
  if (forbidden)
    return new HttpProblem('forbidden', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors })
  return new HttpProblem('validation', `the request has ${errors.length} error(s)`, { errors })
}

/**
 * After a request failed without accepting anything: drops the answer stored with its records,
 * so a retry runs anew (best effort; logged when Redis is away too).
 */
export async function forgetKey(deps: ApiDeps, req: FastifyRequest, claim: IdempotencyClaim | null) {
  if (claim)
    await deps.admission
      .forget(claim)
      .catch((e) => requestLog(req).warn({ error: (e as Error).message }, 'idempotency key not released'))
}

/**
 * The answer to a request whose write failed and was undone, so nothing was accepted: its key is
 * forgotten first (forgetKey), then the store-full 503 when Redis is out of memory, else a 503
 * with Retry-After: 1 and `detail`.
 */
export async function nothingAccepted(
  deps: ApiDeps,
  req: FastifyRequest,
  claim: IdempotencyClaim | null,
  err: unknown,
  detail: string,
): Promise<HttpProblem> {
  await forgetKey(deps, req, claim)
  if (isRedisOutOfMemory(err)) return storeFullProblem()
  return new HttpProblem('unavailable', detail, { headers: { 'retry-after': '1' } })
}

/**
 * Sends a 202 as JSON text, skipping the zod response check: the answer was built from records
 * checked when they were written, or stored then (a replay, marked `idempotent-replayed`).
 */
export function sendAccepted(reply: FastifyReply, response: StoredResponse, replayed: boolean) {
  if (replayed) reply.header('idempotent-replayed', 'true')
  if (response.location) reply.header('location', response.location)
  return reply.code(202).type('application/json; charset=utf-8').send(JSON.stringify(response.body))
}
