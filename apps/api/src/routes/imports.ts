import {
  enqueueCallback,
  enqueueSubmit,
  type ImportRecord,
  jobIds,
  newId,
  newImportRecord,
} from '@ims-importer/core'
import type { FastifyRequest, FastifySchemaCompiler } from 'fastify'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { validatorCompiler } from 'fastify-type-provider-zod'
import { acceptOnce } from '../accept.js'
import type { RouteDeps } from '../app.js'
import { parseImportRequest } from '../import-request.js'
import { HttpProblem, Problem, remainingMs, withDeadline } from '../problem.js'
import { requestLog, tagLog } from '../request-log.js'
import {
  IdempotencyHeaders,
  ImportIdParams,
  ImportListQuery,
  ImportPage,
  ImportRequestBody,
  ImportView,
  isWellFormedId,
} from '../schemas.js'

/**
 * Bodies and headers of the intake routes are documented by their zod schemas but validated in
 * the handler (parseImportRequest: IMS error codes, batch items one by one; acceptOnce: the
 * Idempotency-Key), so the hot path does not copy them through zod twice; other parts go
 * through zod.
 */
export const bodyInHandler: FastifySchemaCompiler<unknown> = (route) =>
  route.httpPart === 'body' || route.httpPart === 'headers'
    ? (data: unknown) => ({ value: data })
    : (validatorCompiler as FastifySchemaCompiler<unknown>)(route)

export const toView = (record: ImportRecord): ImportView => {
  const { tenant: _tenant, version: _version, ...view } = record
  return view
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

const problems = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Problem]))

export const importRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, deps) => {
  const { store, queues, metrics, config, targets } = deps
  const rules = { targets, callbackPolicy: config.callbackPolicy }

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
    {
      validatorCompiler: bodyInHandler,
      config: { rateLimit: 'in-handler' },
      schema: {
        summary: 'Accept one import',
        description:
          'The body is the IMS quick-import body itself plus the optional service fields. Answers 202 once the import is recorded and queued.',
        tags: ['imports'],
        security: [{ bearer: [] }],
        headers: IdempotencyHeaders,
        body: ImportRequestBody,
        response: { 202: ImportView, ...problems(400, 401, 409, 413, 415, 422, 429, 503) },
      },
    },
    async (req, reply) => {
      const tenant = req.tenant as string
      const parsed = parseImportRequest(req.body as unknown, rules)
      const { response, replayed } = await acceptOnce(
        deps,
        req,
        {
          route: 'POST /v1/imports',
          body: req.body,
          checked: parsed.ok
            ? parsed
            : {
                ok: false,
                problem: new HttpProblem('validation', `the request has ${parsed.errors.length} error(s)`, {
                  errors: parsed.errors,
                }),
              },
          deadline: req.redisDeadline,
          replayImport: async (importId) => {
            const record = await store.get(importId)
            return record && { status: 202, body: firstView(record), location: `/v1/imports/${importId}` }
          },
        },
        async ({ request, target, external_id, callback_url }, admission) => {
          const left = () => remainingMs(req.redisDeadline)
          const id = newId('imp')
          const location = `/v1/imports/${id}`
          tagLog(req, { import_id: id })
          const [record] = await withDeadline(
            'record write',
            left(),
            admission.create([{ id, tenant, target, request, external_id, callback_url }], () => ({
              importId: id,
            })),
          )
          try {
            await withDeadline('submit enqueue', left(), enqueueSubmit(queues, target, id))
          } catch (err) {
            /*
             * No 202 without the record and its job. The record is removed, so the 503 means "nothing
             * was accepted" and a retry is safe (acceptOnce forgets the key and the answer stored
             * with the record). If the removal fails too (Redis just went away), the record stays
             * `queued` without a job: the worker's reconciler re-enqueues exactly such records, so
             * it still reaches a final state; the log line names it. The same holds when the
             * record write timed out but landed later. Conversely, an add that reached Redis but
             * whose reply was lost leaves a job without a record: the worker drops it.
             */
            requestLog(req).warn({ error: (err as Error).message }, 'submit enqueue failed')
            await store
              .remove(id)
              .catch((e) =>
                requestLog(req).error(
                  { error: (e as Error).message },
                  'record left queued without a submit job; the reconciler will enqueue it',
                ),
              )
            throw new HttpProblem(
              'unavailable',
              'the import could not be queued; nothing was accepted, retry',
              {
                headers: { 'retry-after': '1' },
              },
            )
          }
          metrics.accepted.inc({ target })
          tagLog(req, { target })
          return { status: 202, body: toView(record as ImportRecord), location }
        },
      )
      if (replayed) {
        reply.header('idempotent-replayed', 'true')
        tagLog(req, { import_id: (response.body as ImportView).id, replayed: true })
      }
      if (response.location) reply.header('location', response.location)
      // Sent as JSON text, skipping the zod response check: the record behind the view was checked
      // against ImportRecord when the store wrote it (a replay sends the answer stored then).
      return reply
        .code(202)
        .type('application/json; charset=utf-8')
        .send(JSON.stringify(response.body) as unknown as ImportView)
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
        response: { 200: ImportView, ...problems(401, 404, 429, 503) },
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
        response: { 200: ImportPage, ...problems(400, 401, 429, 503) },
      },
    },
    async (req) => {
      const { status, target, external_id, batch_id, limit, cursor } = req.query
      try {
        const page = await store.list({
          tenant: req.tenant as string,
          status,
          target,
          external_id,
          batch_id,
          limit,
          cursor,
        })
        return { items: page.items.map(toView), next_cursor: page.next_cursor }
      } catch (err) {
        if ((err as Error).name === 'InvalidCursorError')
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
        response: { 200: ImportView, ...problems(401, 404, 409, 429, 503) },
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
          if (callbackQueued)
            await queues
              .submit(record.target)
              .remove(jobIds.submit(id))
              .catch(() => {})
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
