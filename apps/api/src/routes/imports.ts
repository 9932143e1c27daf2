import {
  enqueueCallback,
  type ImportRecord,
  InvalidCursorError,
  newId,
  newImportRecord,
  targetAllowed,
  targetsOf,
  withdrawSubmit,
} from '@ims-importer/core'
import type { FastifyRequest } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Principal } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import type { StoredResponse } from '../idempotency.js'
import { parseImportRequest } from '../import-request.js'
import {
  bodyProblem,
  checkIntake,
  intakeRoute,
  nothingAccepted,
  rateLimitOf,
  refusal,
  sendAccepted,
} from '../intake.js'
import { HttpProblem, problemResponses, remainingMs, withDeadline } from '../problem.js'
import { requestLog, tagLog } from '../request-log.js'
import {
  ImportIdParams,
  ImportListQuery,
  ImportPage,
  ImportRequestBody,
  ImportView,
  isWellFormedId,
} from '../schemas.js'

export const toView = (record: ImportRecord): ImportView => {
  const { tenant: _tenant, version: _version, ...view } = record
  // Records of earlier releases have no expected_finish or file: the view always says null.
  return { ...view, expected_finish: view.expected_finish ?? null, file: view.file ?? null }
}

/**
 * The view an import was first answered with (202): rebuilt from its record, which keeps every
 * input it was made of and its creation time, so an Idempotency-Key stores only the import's id.
 */
export const firstView = (record: ImportRecord): ImportView =>
  toView(
    newImportRecord(
      {
        id: record.id,
        tenant: record.tenant,
        target: record.target,
        request: record.request,
        external_id: record.external_id,
        batch_id: record.batch_id,
        callback_url: record.callback_url,
      },
      new Date(record.created_at),
    ),
  )

/** The 202 answer of an import: its first view, and where to read it. */
const acceptedAnswer = (record: ImportRecord): StoredResponse => ({
  status: 202,
  body: firstView(record),
  location: `/v1/imports/${record.id}`,
})

/**
 * Whether an index serves a listing: one index alone (no filter, status, target, external_id),
 * or a bounded one (a batch's, at most one request's items; an external_id's, that id's
 * imports). Status and target together would be filtered on the records of an index that may
 * hold every import of the tenant: refused (400) rather than scanned.
 */
export function listServedByIndex(q: {
  status?: unknown
  target?: unknown
  batch_id?: unknown
  external_id?: unknown
}) {
  if (q.batch_id !== undefined || q.external_id !== undefined) return true
  return q.status === undefined || q.target === undefined
}

export const importRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, admission, queues, metrics, config, targets, batches } = deps
  const rulesOf = (req: FastifyRequest) => ({
    targets,
    clouds: config.clouds,
    callbackPolicy: config.callbackPolicy,
    policy: (req.principal as Principal).policy,
  })

  /** Loads an import of the caller's tenant; any other tenant's id is a 404, like a missing one. */
  const loadOwn = async (req: FastifyRequest, id: string): Promise<ImportRecord> => {
    const tenant = req.tenant as string
    tagLog(req, { import_id: id })
    const record = isWellFormedId(id, 'imp') ? await store.get(id) : null
    if (!record || record.tenant !== tenant) throw new HttpProblem('not_found', `no import ${id}`)
    return record
  }

  app.post(
    '/v1/imports',
    intakeRoute({
      summary: 'Accept one import',
      description:
        'The body is the IMS quick-import body itself plus the optional service fields. Answers 202 once the import is recorded and queued.',
      tags: ['imports'],
      body: ImportRequestBody,
      accepted: ImportView,
    }),
    async (req, reply) => {
      const tenant = req.tenant as string
      const deadline = req.redisDeadline
      const rules = rulesOf(req)
      const parsed = parseImportRequest(req.body as unknown, rules)
      const { value, claim } = await checkIntake(
        deps,
        req,
        'POST /v1/imports',
        parsed.ok ? parsed : { ok: false, problem: bodyProblem(parsed.errors, parsed.forbidden) },
        deadline,
      )
      const { request, target, external_id, callback_url } = value
      const id = newId('imp')
      tagLog(req, { import_id: id })
      const result = await withDeadline(
        'record write',
        remainingMs(deadline),
        admission.admit({
          rateLimit: rateLimitOf(deps, req),
          idempotency: claim && { ...claim, answer: { importId: id } },
          imports: [{ id, tenant, target, request, external_id, callback_url }],
          maxOpenImports: rules.policy.maxOpenImports,
        }),
      ).catch(async (err: unknown) => {
        // The write failed or timed out: it may still land. Undo it (sent after the write on the
        // same connection, so a late write is undone too): the record, its submit work and its
        // key's answer go, so the 503 means "nothing was accepted" and a retry runs anew. What
        // cannot be undone stays queued for the worker (docs/intake-admission.md).
        requestLog(req).warn({ error: (err as Error).message }, 'import record write failed')
        await Promise.all([store.remove(id), withdrawSubmit(deps.redis, queues, target, id)]).catch((e) =>
          requestLog(req).error({ error: (e as Error).message }, 'import record write not undone'),
        )
        throw await nothingAccepted(
          deps,
          req,
          claim,
          err,
          'the import could not be recorded; nothing was accepted, retry',
        )
      })
      switch (result.kind) {
        case 'created':
          break
        case 'replay': {
          const { answer } = result
          const response =
            'import' in answer ? acceptedAnswer(answer.import) : (answer.response as StoredResponse)
          metrics.replays.inc()
          tagLog(req, { import_id: (response.body as ImportView).id, replayed: true })
          return sendAccepted(reply, response, true)
        }
        default:
          throw refusal(result, rateLimitOf(deps, req).perMinute)
      }
      metrics.accepted.inc({ target })
      tagLog(req, { target })
      const [record] = result.records
      return sendAccepted(
        reply,
        { status: 202, body: toView(record as ImportRecord), location: `/v1/imports/${id}` },
        false,
      )
    },
  )

  app.get(
    '/v1/imports/:id',
    {
      schema: {
        summary: 'One import',
        tags: ['imports'],
        security: [{ bearer: [] }],
        params: ImportIdParams,
        response: { 200: ImportView, ...problemResponses(401, 404, 429, 503) },
      },
    },
    async (req) => toView(await loadOwn(req, req.params.id)),
  )

  app.get(
    '/v1/imports',
    {
      schema: {
        summary: "The tenant's imports, newest first",
        tags: ['imports'],
        security: [{ bearer: [] }],
        querystring: ImportListQuery,
        response: { 200: ImportPage, ...problemResponses(400, 401, 429, 503) },
      },
    },
    async (req) => {
      const { status, target, external_id, batch_id, limit, cursor } = req.query
      const tenant = req.tenant as string
      const { policy } = req.principal as Principal
      if (target !== undefined && !targetAllowed(policy, target, targets))
        throw new HttpProblem(
          'validation',
          `target ${JSON.stringify(target)} is not one of the tenant's targets`,
          {
            errors: [
              {
                path: 'querystring.target',
                message: `not one of the tenant's targets: ${targetsOf(policy, targets).join(', ')}`,
              },
            ],
          },
        )
      if (!listServedByIndex(req.query))
        throw new HttpProblem('validation', 'no index serves this combination of filters', {
          errors: [
            {
              path: 'querystring.status',
              message:
                'status and target together are served by no index: filter by one of them (with batch_id or external_id, both are fine)',
            },
          ],
        })
      // A batch of another tenant lists like an unknown one: nothing, after the same one lookup
      // in the caller's own batch index (its imports are never read).
      if (batch_id !== undefined && !(await batches.owns(tenant, batch_id)))
        return { items: [], next_cursor: null }
      try {
        const page = await store.list({
          tenant,
          status,
          target,
          external_id,
          batch_id,
          limit,
          cursor,
        })
        return { items: page.items.map(toView), next_cursor: page.next_cursor }
      } catch (err) {
        if (err instanceof InvalidCursorError)
          throw new HttpProblem('validation', 'invalid cursor', {
            errors: [
              { path: 'querystring.cursor', message: 'not a cursor from a previous page of this listing' },
            ],
          })
        throw err
      }
    },
  )

  app.post(
    '/v1/imports/:id/cancel',
    {
      schema: {
        summary: 'Cancel a queued import',
        description:
          'A queued import becomes cancelled and is never submitted; its callback_url, if any, is notified like on any other final state. Once submitted it cannot be cancelled (IMS has no cancel): 409.',
        tags: ['imports'],
        security: [{ bearer: [] }],
        params: ImportIdParams,
        response: { 200: ImportView, ...problemResponses(401, 404, 409, 429, 503) },
      },
    },
    async (req) => {
      const id = req.params.id
      const current = await loadOwn(req, id)
      const cancelled = await store.update(id, (rec) =>
        rec.status === 'queued' ? { to: 'cancelled', reason: 'cancelled by the caller' } : null,
      )
      const record = cancelled ?? (await store.get(id)) ?? current
      if (record.status === 'cancelled') {
        if (cancelled) {
          tagLog(req, { cancelled: true })
          // Cancelled is a final state: a callback_url hears of it like of any other. Until its
          // callback job is queued the submit job stays, so that if this fails (or the API stops
          // here) the worker that runs the submit job finds the import cancelled with its callback
          // pending and queues it; once queued, removing the job just saves the worker the trip.
          let callbackQueued = true
          if (record.callback_url)
            try {
              await enqueueCallback(queues, id, config.callbackRetry)
            } catch (err) {
              callbackQueued = false
              requestLog(req).warn(
                { error: (err as Error).message },
                'callback of the cancel not queued; the worker queues it when it reaches the submit job',
              )
            }
          if (callbackQueued) await withdrawSubmit(deps.redis, queues, record.target, id).catch(() => {})
        }
        return toView(record)
      }
      throw new HttpProblem(
        'conflict',
        record.status === 'queued'
          ? 'the import changed while cancelling; retry'
          : `the import is ${record.status}: once submitted to IMS it cannot be cancelled`,
      )
    },
  )
}
