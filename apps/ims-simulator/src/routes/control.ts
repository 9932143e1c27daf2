import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import { STORAGE_CLASSES } from '../obs/obs-store.js'
import { OPERATIONS, type SimulatorControl } from '../options.js'

const Rate = z.number().min(0).max(1)
const Duration = z
  .object({ min: z.number().int().min(0), max: z.number().int().min(0) })
  .refine((d) => d.min <= d.max)
const RateLimit = z.object({ limit: z.number().int().min(0), windowMs: z.number().int().positive() })

export const FaultsBody = z.strictObject({
  errorRate: Rate.optional(),
  throttleRate: Rate.optional(),
  latencyMs: z.number().int().min(0).optional(),
  resetBeforeRate: Rate.optional(),
  resetAfterRate: Rate.optional(),
  malformedJsonRate: Rate.optional(),
  operations: z.array(z.enum(OPERATIONS)).optional(),
})
export const SpeedBody = z.strictObject({
  initMs: z.number().int().min(0).optional(),
  jobDurationMs: Duration.optional(),
  listingDelayMs: z.number().int().min(0).optional(),
})
export const RateLimitsBody = z.partialRecord(z.enum(OPERATIONS), RateLimit)
export const LimitsBody = z.strictObject({
  imageQuota: z.number().int().min(0).optional(),
  maxConcurrentImports: z.number().int().min(0).optional(),
})

const StorageClass = z.enum(STORAGE_CLASSES)
export const ObsObjectBody = z.strictObject({
  key: z.string().min(1),
  size: z.number().int().min(0),
  storageClass: StorageClass.optional(),
})
export const ObsBucketBody = z.strictObject({
  name: z.string().min(3).max(63),
  region: z.string().min(1).optional(),
  storageClass: StorageClass.optional(),
  objects: z.array(ObsObjectBody).optional(),
})
export const ObsSeedBody = z.strictObject({ buckets: z.array(ObsBucketBody) })
export const ObsJudgingBody = z.strictObject({
  obsJudging: z.boolean().optional(),
  importBytesPerSecond: z.number().positive().nullable().optional(),
})

/** A control request's raw body as JSON valid against `schema`, or why it is not (the 400's error). */
function parseBody<T>(
  schema: z.ZodType<T>,
  body: unknown,
): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown
  try {
    json = JSON.parse(Buffer.isBuffer(body) ? body.toString('utf8') : '')
  } catch {
    return { ok: false, error: 'body must be JSON' }
  }
  const parsed = schema.safeParse(json)
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: z.prettifyError(parsed.error) }
}

/**
 * The control API under the reserved prefix `/__sim/`, for a simulator running on its own
 * (benchmarks, chaos tests). No auth, no faults, not in the request log.
 */
export function registerControlRoutes(app: FastifyInstance, control: SimulatorControl): void {
  const withBody =
    <T>(schema: z.ZodType<T>, apply: (value: T) => void) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const body = parseBody(schema, request.body)
      if (!body.ok) return reply.code(400).send({ error: body.error })
      apply(body.value)
      return reply.code(204).send()
    }

  app.post('/__sim/reset', async (_request, reply) => {
    control.reset()
    return reply.code(204).send()
  })
  /** A PUT whose JSON body, valid against `schema`, is given to `apply` (204; 400 when invalid). */
  const putBody = <T>(path: string, schema: z.ZodType<T>, apply: (value: T) => void) =>
    app.put(path, withBody(schema, apply))

  putBody('/__sim/faults', FaultsBody, (faults) => control.setFaults(faults))
  putBody('/__sim/speed', SpeedBody, (speed) => control.setSpeed(speed))
  putBody('/__sim/rate-limits', RateLimitsBody, (limits) => control.setRateLimits(limits))
  putBody('/__sim/limits', LimitsBody, (limits) => control.setLimits(limits))
  putBody('/__sim/images/count', z.strictObject({ count: z.number().int().min(0) }), ({ count }) => {
    control.setImageCount(count)
  })
  app.delete<{ Params: { id: string } }>('/__sim/images/:id', async (request, reply) => {
    const outcome = control.deleteImage(request.params.id)
    if (outcome === 'deleted') return reply.code(204).send()
    return reply.code(outcome === 'busy' ? 409 : 404).send({ error: `image ${outcome}` })
  })
  app.put(
    '/__sim/obs/buckets',
    withBody(ObsBucketBody, (bucket) => control.obs.putBucket(bucket)),
  )
  app.put<{ Params: { bucket: string } }>('/__sim/obs/buckets/:bucket/objects', async (request, reply) => {
    const body = parseBody(ObsObjectBody, request.body)
    if (!body.ok) return reply.code(400).send({ error: body.error })
    if (!control.obs.putObject(request.params.bucket, body.value)) {
      return reply.code(404).send({ error: 'no such bucket' })
    }
    return reply.code(204).send()
  })
  app.delete<{ Params: { bucket: string; '*': string } }>(
    '/__sim/obs/buckets/:bucket/objects/*',
    async (request, reply) =>
      control.obs.deleteObject(request.params.bucket, request.params['*'])
        ? reply.code(204).send()
        : reply.code(404).send({ error: 'no such object' }),
  )
  app.delete<{ Params: { bucket: string } }>('/__sim/obs/buckets/:bucket', async (request, reply) =>
    control.obs.deleteBucket(request.params.bucket)
      ? reply.code(204).send()
      : reply.code(404).send({ error: 'no such bucket' }),
  )
  app.get('/__sim/obs', async () => control.obs.snapshot())
  app.put(
    '/__sim/obs/judging',
    withBody(ObsJudgingBody, (judging) => control.obs.setJudging(judging)),
  )
  app.get('/__sim/counters', async () => control.counters())
  app.get('/__sim/quota', async () => control.quota())
  app.get<{ Querystring: { op?: string } }>('/__sim/requests', async (request) => ({
    requests: control.requestLog(request.query.op),
  }))
  app.get('/__sim/jobs', async () => ({ jobs: control.jobs() }))
}
