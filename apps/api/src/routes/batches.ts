import {
  type AdmitResult,
  type NewImport,
  newId,
  outboxEntry,
  type TenantPolicy,
  withdrawSubmit,
} from '@ims-importer/core'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { Principal } from '../auth.js'
import { expectedFinishOf, readOpenImports } from '../batch-finish.js'
import { type BatchRecord, summariseWaiting } from '../batch-store.js'
import type { ApiDeps } from '../deps.js'
import type { StoredResponse } from '../idempotency.js'
import { type ParsedImportRequest, parseImportRequest } from '../import-request.js'
import { checkIntake, intakeRoute, nothingAccepted, rateLimitOf, refusal, sendAccepted } from '../intake.js'
import { compactAnswer, expandAnswer } from '../item-errors.js'
import { type FieldError, HttpProblem, problemResponses, remainingMs, withDeadline } from '../problem.js'
import { requestLog, tagLog } from '../request-log.js'
import {
  BatchAccepted,
  BatchEnvelope,
  BatchQuery,
  BatchRequestBody,
  BatchView,
  ImportIdParams,
  isWellFormedId,
  MAX_BATCH_ITEMS,
} from '../schemas.js'

/** A batch writes up to 1000 records in a few round trips; bound it so a hung store still answers (503). */
const BATCH_BUDGET_MS = 5000

const zodPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>(
    (acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${String(seg)}` : String(seg)),
    '',
  )

interface CheckedBatch {
  valid: { index: number; value: ParsedImportRequest }[]
  invalid: { index: number; errors: FieldError[] }[]
  external_id: string | undefined
}

export const batchRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, deps) => {
  const { store, admission, queues, metrics, config, targets, batches } = deps
  const finishDeps = { redis: deps.redis, keys: deps.keys, places: config.places }

  /** The envelope, then each item on its own; refused only when no item is valid. */
  const checkBatch = (
    body: unknown,
    policy: TenantPolicy,
  ): { ok: true; value: CheckedBatch } | { ok: false; problem: HttpProblem } => {
    const rules = { targets, clouds: config.clouds, callbackPolicy: config.callbackPolicy, policy }
    const envelope = BatchEnvelope.safeParse(body)
    if (!envelope.success)
      return {
        ok: false,
        problem: new HttpProblem(
          'validation',
          `a batch is { items: [1 to ${MAX_BATCH_ITEMS} import bodies], external_id? }`,
          {
            errors: envelope.error.issues.map((i) => ({ path: zodPath(i.path), message: i.message })),
          },
        ),
      }
    const { items, external_id } = envelope.data
    metrics.batchSize.observe(items.length)
    const valid: CheckedBatch['valid'] = []
    const invalid: CheckedBatch['invalid'] = []
    let forbidden = 0
    items.forEach((item, index) => {
      const parsed = parseImportRequest(item, rules, `items[${index}]`)
      if (parsed.ok) valid.push({ index, value: parsed.value })
      else {
        invalid.push({ index, errors: parsed.errors })
        if (parsed.forbidden) forbidden++
      }
    })
    if (valid.length === 0)
      return {
        ok: false,
        problem: new HttpProblem(
          // Every item breaks only the tenant's policy: 403, as a single import would get.
          forbidden === items.length ? 'forbidden' : 'validation',
          forbidden === items.length
            ? `none of the ${items.length} items is allowed by tenant ${policy.name}'s policy; nothing was accepted (first: ${invalid[0]?.errors[0]?.path}: ${invalid[0]?.errors[0]?.message})`
            : `none of the ${items.length} items is valid; nothing was accepted`,
          {
            errors: invalid.flatMap((i) => i.errors),
            item_errors: invalid,
          },
        ),
      }
    return { ok: true, value: { valid, invalid, external_id } }
  }

  app.post(
    '/v1/batches',
    {
      ...intakeRoute({
        summary: 'Accept up to 1000 imports at once',
        description:
          'Each item is validated on its own: valid ones are accepted, invalid ones are listed by index with their errors. 400 only when no item is valid.',
        tags: ['batches'],
        body: BatchRequestBody,
        accepted: BatchAccepted,
      }),
      bodyLimit: config.batchBodyLimitBytes,
    },
    async (req, reply) => {
      const tenant = req.tenant as string
      const deadline = Date.now() + BATCH_BUDGET_MS
      const left = () => remainingMs(deadline)
      const { value, claim } = await checkIntake(
        deps,
        req,
        'POST /v1/batches',
        checkBatch(req.body, (req.principal as Principal).policy),
        deadline,
      )
      const { valid, invalid, external_id } = value
      const now = new Date()
      const batch: BatchRecord = {
        id: newId('bat'),
        tenant,
        external_id: external_id ?? null,
        created_at: now.toISOString(),
        accepted: valid.length,
        rejected: invalid,
      }
      tagLog(req, { batch_id: batch.id })
      const planned = valid.map(({ index, value }) => ({
        index,
        input: {
          id: newId('imp'),
          tenant,
          target: value.target,
          request: value.request,
          external_id: value.external_id,
          callback_url: value.callback_url,
          batch_id: batch.id,
          batch_index: index,
        } satisfies NewImport,
      }))
      const answer: StoredResponse = {
        status: 202,
        body: {
          id: batch.id,
          external_id: batch.external_id,
          created_at: batch.created_at,
          accepted: valid.length,
          rejected: invalid.length,
          imports: planned.map((p) => ({ index: p.index, id: p.input.id, target: p.input.target })),
          errors: invalid,
        } satisfies BatchAccepted,
        location: `/v1/batches/${batch.id}`,
      }

      /**
       * Same rule as a single import: nothing half-accepted. Records and the batch are removed
       * and the key's answer forgotten; whatever cannot be removed stays queued for the
       * reconciler (logged by id). `queued`: the batch write (batches.create, which pushes the
       * imports' outbox entries) may have landed, so their submit work is withdrawn too; before
       * it there is none to withdraw (admitted with `queue: false`: no entry, so no job).
       */
      const undo = async (err: unknown, queued: boolean): Promise<HttpProblem> => {
        requestLog(req).warn({ error: (err as Error).message }, 'batch accept failed')
        const cleanup = await Promise.allSettled([
          ...planned.map((p) => store.remove(p.input.id)),
          ...(queued
            ? planned.map((p) => withdrawSubmit(deps.redis, queues, p.input.target, p.input.id))
            : []),
          batches.remove(batch),
        ])
        if (cleanup.some((c) => c.status === 'rejected'))
          requestLog(req).error(
            { import_ids: planned.map((p) => p.input.id) },
            'batch left partly written; the reconciler will enqueue its queued records',
          )
        return nothingAccepted(
          deps,
          req,
          claim,
          err,
          'the batch could not be recorded and queued; nothing was accepted, retry',
        )
      }

      let result: AdmitResult
      try {
        result = await withDeadline(
          'records write',
          left(),
          admission.admit({
            rateLimit: rateLimitOf(deps, req),
            // Stored with its refused items' errors in groups (item-errors.ts): bounded bytes.
            idempotency: claim && { ...claim, answer: { response: compactAnswer(answer) } },
            imports: planned.map((p) => p.input),
            maxOpenImports: (req.principal as Principal).policy.maxOpenImports,
            now,
            // Queued with the batch record below, so no import reaches a worker before its batch.
            queue: false,
          }),
        )
      } catch (err) {
        throw await undo(err, false)
      }
      switch (result.kind) {
        case 'created':
          break
        case 'replay': {
          metrics.replays.inc()
          const { answer: stored } = result
          if (!('response' in stored)) throw new Error('a batch key holds an import id, not an answer')
          return sendAccepted(reply, expandAnswer(stored.response) as StoredResponse, true)
        }
        default:
          throw refusal(result, rateLimitOf(deps, req).perMinute)
      }
      try {
        // The batch, and with it the imports' submit work (every record is written by now).
        await withDeadline(
          'batch write',
          left(),
          batches.create(
            batch,
            planned.map((p) => outboxEntry(p.input.target, p.input.id)),
          ),
        )
      } catch (err) {
        throw await undo(err, true)
      }
      const perTarget = new Map<string, number>()
      for (const r of result.records) perTarget.set(r.target, (perTarget.get(r.target) ?? 0) + 1)
      for (const [target, n] of perTarget) metrics.accepted.inc({ target }, n)
      if (invalid.length > 0) metrics.rejected.inc({ reason: 'validation' }, invalid.length)
      tagLog(req, { accepted: valid.length, rejected: invalid.length })
      return sendAccepted(reply, answer, false)
    },
  )

  app.get(
    '/v1/batches/:id',
    {
      schema: {
        summary: 'A batch: counts by state and its items, paged',
        tags: ['batches'],
        security: [{ bearer: [] }],
        params: ImportIdParams,
        querystring: BatchQuery,
        response: { 200: BatchView, ...problemResponses(400, 401, 404, 429, 503) },
      },
    },
    async (req) => {
      const { id } = req.params
      tagLog(req, { batch_id: id })
      // Another tenant's batch and an unknown id take the same path: one lookup in the caller's own
      // batch index, then 404; the batch record is read only when it is the caller's.
      const own = isWellFormedId(id, 'bat') && (await batches.owns(req.tenant as string, id))
      const batch = own ? await batches.get(id) : null
      if (!batch || batch.tenant !== req.tenant) throw new HttpProblem('not_found', `no batch ${id}`)
      const { limit, cursor, status } = req.query
      const after = cursor === undefined ? -1 : Number(cursor)
      const [counts, page] = await Promise.all([
        store.countByStatusForBatch(id),
        status === undefined
          ? batches.items(id, after, limit + 1)
          : batches.itemsInStatus(id, status, after, limit + 1),
      ])
      const shown = page.slice(0, limit)
      // The batch's open imports, read once: its expected finish and its imports waiting for their target.
      const [records, open] = await Promise.all([
        store.getMany(shown.map((p) => p.importId)),
        readOpenImports(finishDeps, id, counts),
      ])
      const expected_finish = await expectedFinishOf(finishDeps, open)
      const waiting = summariseWaiting(open)
      const items = shown.flatMap((p, i) => {
        const r = records[i]
        if (!r) return []
        return [
          {
            index: p.index,
            id: r.id,
            status: r.status,
            target: r.target,
            external_id: r.external_id,
            image_id: r.ims.image_id,
            error: r.error,
            expected_finish: r.expected_finish ?? null,
            waiting: r.status === 'queued' ? (r.waiting ?? null) : null,
            file_size_bytes: r.file?.size_bytes ?? null,
          },
        ]
      })
      const last = shown.at(-1)
      const hasNext = page.length > limit
      // File sizes from the page's records, read above; the batch's sum only when they are all of it.
      let pageBytes = 0
      let pageUnknown = 0
      for (const item of items) {
        if (item.file_size_bytes === null) pageUnknown++
        else pageBytes += item.file_size_bytes
      }
      const whole = cursor === undefined && status === undefined && !hasNext
      return {
        id: batch.id,
        external_id: batch.external_id,
        created_at: batch.created_at,
        accepted: batch.accepted,
        rejected: batch.rejected,
        counts,
        expected_finish,
        waiting,
        bytes: { page: pageBytes, page_unknown: pageUnknown, total: whole ? pageBytes : null },
        items,
        next_cursor: hasNext && last ? String(last.index) : null,
      }
    },
  )
}
