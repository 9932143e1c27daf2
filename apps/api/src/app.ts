import { isUtf8 } from 'node:buffer'
import { randomUUID } from 'node:crypto'
import Fastify, {
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
  type HookHandlerDoneFunction,
  LogController,
} from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import { bearerToken } from './auth.js'
import { createAuthThrottle } from './auth-throttle.js'
import type { ApiDeps } from './deps.js'
import { rateLimitOf } from './intake.js'
import { prototypeKeyErrors } from './json-body.js'
import type { RejectReason } from './metrics.js'
import {
  echo,
  HttpProblem,
  isRedisOutOfMemory,
  isRedisUnavailable,
  PROBLEM_CONTENT_TYPE,
  rateLimitedProblem,
  remainingMs,
  storeFullProblem,
  toProblem,
  withDeadline,
} from './problem.js'
import { logCompleted, requestLog } from './request-log.js'
import { adminQueuesRoutes } from './routes/admin-queues.js'
import { batchRoutes } from './routes/batches.js'
import { registerDocs } from './routes/docs.js'
import { healthRoutes } from './routes/health.js'
import { importRoutes } from './routes/imports.js'
import { metricsRoutes } from './routes/metrics.js'
import type { AccessPolicy, App } from './types.js'

/** Routes whose rejections count in ims_importer_imports_rejected_total. */
const INTAKE_ROUTES = new Set(['/v1/imports', '/v1/batches'])

/**
 * Budget for all Redis steps of one request (rate limit, idempotency, record, job), so that an
 * unreachable or hanging Redis is answered with 503 within a second. The fail-fast client
 * usually fails at once; this bounds the cases where a connection hangs instead.
 */
export const REDIS_BUDGET_MS = 900

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
/** A body of JSON whitespace only counts as no body. */
const BLANK = /^[ \t\n\r]*$/

/** How long the app waits for Redis when it starts; it starts anyway and /readyz says why not ready. */
const STARTUP_REDIS_WAIT_MS = 3000

function rejectReason(p: HttpProblem): RejectReason {
  switch (p.kind) {
    case 'validation':
    case 'bad_request':
      return 'validation'
    case 'idempotency_mismatch':
      return 'idempotency_conflict'
    case 'idempotency_in_progress':
      return 'idempotency_in_progress'
    case 'unauthorized':
    case 'forbidden':
      return 'auth'
    case 'rate_limited':
      return 'rate_limited'
    case 'unavailable':
      return 'unavailable'
    case 'body_too_large':
      return 'body_too_large'
    case 'unsupported_media_type':
      return 'unsupported_media_type'
    default:
      return 'other'
  }
}

/** Maps anything thrown in a request to a problem; the only place that decides error answers. */
function asProblem(err: FastifyError | Error, req: FastifyRequest): HttpProblem {
  if (err instanceof HttpProblem) return err
  if (hasZodFastifySchemaValidationErrors(err)) {
    const part = (err as FastifyError).validationContext ?? 'request'
    return new HttpProblem('validation', `invalid ${part}`, {
      errors: err.validation.map((v) => ({
        path: [part, ...v.instancePath.split('/').filter((s) => s !== '')].join('.'),
        message: v.message ?? 'invalid',
      })),
    })
  }
  const code = (err as FastifyError).code
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new HttpProblem('body_too_large', 'the request body is larger than this route accepts')
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new HttpProblem(
      'unsupported_media_type',
      `the body must be JSON sent as Content-Type: application/json (got ${echo(req.headers['content-type'] ?? 'none')})`,
    )
  const status = (err as FastifyError).statusCode
  if (status !== undefined && status >= 400 && status < 500)
    return new HttpProblem(status === 413 ? 'body_too_large' : 'bad_request', err.message)
  if (isRedisOutOfMemory(err)) return storeFullProblem()
  if (isRedisUnavailable(err))
    return new HttpProblem('unavailable', 'the service cannot reach its store right now; retry shortly', {
      headers: { 'retry-after': '1' },
    })
  return new HttpProblem('internal', 'an unexpected error occurred; it has been logged')
}

/**
 * The intake API as one Fastify app: auth and rate limit in one onRequest hook, every route
 * with zod request and response schemas, one error handler answering application/problem+json.
 */
export function buildApp(deps: ApiDeps): App {
  const { config, log, redis, metrics } = deps
  const app = Fastify({
    loggerInstance: log,
    bodyLimit: config.bodyLimitBytes,
    genReqId: (raw) => {
      const given = raw.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    // One line per request instead of Fastify's two ("incoming request", "request completed"):
    // logCompleted in onResponse, with the tenant and the import or batch id.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    // No child logger per request: the one line per request binds its request_id itself, and
    // requestLog(req) makes a child (request_id, tenant, tags) for the rare warning.
    childLoggerFactory: (logger) => logger,
    // While closing (SIGTERM), new requests get 503 at once; in-flight ones finish.
    return503OnClosing: true,
    // A client gets so long to send a whole request (a slow body is answered 408 and closed), to
    // send its headers, to stay silent, and to keep an idle connection open.
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      requestTimeout: config.http.requestTimeoutMs,
      headersTimeout: config.http.headersTimeoutMs,
      // Node looks for requests past those timeouts this often (its default, 30 s, would let a
      // slow body outlive a short request timeout by that much).
      connectionsCheckingInterval: Math.min(1000, config.http.requestTimeoutMs),
    },
  }).withTypeProvider<ZodTypeProvider>() as unknown as App

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  // JSON only. An empty JSON body counts as no body (POST .../cancel from clients that always set the type).
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeAllContentTypeParsers()
  // JSON is UTF-8 (RFC 8259): other bytes are refused, not turned into U+FFFD and stored.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    if (!isUtf8(raw as Buffer)) {
      done(
        new HttpProblem('bad_request', 'the body is not valid UTF-8; send JSON encoded as UTF-8'),
        undefined,
      )
      return
    }
    const body = (raw as Buffer).toString('utf8')
    if (BLANK.test(body)) return done(null, undefined)
    parseJson(req, body, (err, value) => {
      if (err) {
        // Valid JSON with a key that could reach an object's prototype: name where it is.
        const keys = prototypeKeyErrors(body)
        done(
          keys.length > 0
            ? new HttpProblem('validation', 'the body has keys that are not accepted', { errors: keys })
            : new HttpProblem('bad_request', `the body is not valid JSON: ${echo(err.message)}`),
          undefined,
        )
        return
      }
      done(null, value)
    })
  })

  const { authenticate } = deps
  app.decorateRequest('tenant', null)
  app.decorateRequest('apiKeyId', null)
  app.decorateRequest('principal', null)
  app.decorateRequest('redisDeadline', 0)
  app.decorateRequest('logTags', null)

  const accessOf = (req: FastifyRequest): AccessPolicy => {
    const declared = req.routeOptions.config?.access
    if (declared) return declared
    // The docs routes (Swagger UI's and the document's) declare nothing: known by their template.
    const route = req.routeOptions.url
    if (route === '/openapi.json' || route === '/docs' || route?.startsWith('/docs/'))
      return config.docsAuth ? 'tenant' : 'public'
    return 'tenant'
  }

  const throttle = createAuthThrottle(redis, deps.keys, config.authThrottle)

  /** The key check and the rate limit of a route that needs a key. */
  const authorize = (
    req: FastifyRequest,
    reply: FastifyReply,
    access: AccessPolicy,
    done: HookHandlerDoneFunction,
  ) => {
    const token = bearerToken(req.headers.authorization)
    if (!token) {
      reply.header('www-authenticate', 'Bearer')
      return done(new HttpProblem('unauthorized', 'send Authorization: Bearer <api key>'))
    }
    const principal = authenticate(token, access === 'admin')
    if (!principal) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"')
      // Counted per client address: past the limit, 429 (auth-throttle.ts).
      throttle
        .failed(req.ip)
        .then((limited) =>
          done(limited ?? new HttpProblem('unauthorized', 'the API key is not valid for this route')),
        )
      return
    }
    req.principal = principal
    req.tenant = principal.tenant
    // An admin key and a tenant key of the same name are two keys: two rate-limit counters.
    req.apiKeyId = access === 'admin' ? `admin/${principal.keyId}` : principal.keyId
    if (req.routeOptions.config?.rateLimit === 'in-handler') return done()
    const limit = rateLimitOf(deps, req)
    withDeadline('rate limit', remainingMs(req.redisDeadline), deps.admission.takeRateLimit(limit)).then(
      (decision) =>
        done(decision.allowed ? undefined : rateLimitedProblem(decision.retryAfterMs, limit.perMinute)),
      (err: Error) => done(err),
    )
  }

  // Callback style: the intake routes (their limit is taken in the handler) pass without a promise.
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id)
    req.redisDeadline = Date.now() + REDIS_BUDGET_MS
    const access = accessOf(req)
    if (access === 'public') return done()
    // Only an address that failed recently here costs a look in Redis first.
    if (!throttle.suspect(req.ip)) return authorize(req, reply, access, done)
    throttle.check(req.ip).then((limited) => (limited ? done(limited) : authorize(req, reply, access, done)))
  })

  app.addHook('onResponse', (req, reply, done) => {
    metrics.httpDuration.observe(
      {
        route: req.routeOptions.url ?? 'unmatched',
        method: req.method,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    )
    logCompleted(req, reply)
    done()
  })

  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const problem = asProblem(err, req)
    if (problem.status >= 500 && problem.kind !== 'unavailable')
      requestLog(req).error({ err }, 'request failed')
    else if (problem.kind === 'unavailable') requestLog(req).warn({ error: err.message }, 'store unavailable')
    if (req.method === 'POST' && INTAKE_ROUTES.has(req.routeOptions.url ?? ''))
      metrics.rejected.inc({ reason: rejectReason(problem) })
    for (const [name, value] of Object.entries(problem.extra.headers ?? {})) reply.header(name, value)
    return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(problem, req.id))
  })

  app.setNotFoundHandler((req) => {
    throw new HttpProblem('not_found', `no route ${req.method} ${echo(req.url.split('?')[0] ?? '')}`)
  })

  app.addHook('onReady', async () => {
    // Both connections: BullMQ sets a queue up on its connection once, so it must be ready first.
    await Promise.all(
      [redis, deps.queueRedis].map((r) =>
        r.status === 'ready'
          ? undefined
          : new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, STARTUP_REDIS_WAIT_MS)
              r.once('ready', () => {
                clearTimeout(timer)
                resolve()
              })
            }),
      ),
    )
    // Open each target's submit queue now, so no request waits for a queue's first connection.
    await Promise.all(
      deps.targets.map((t) =>
        withDeadline('queue open', STARTUP_REDIS_WAIT_MS, deps.queues.submit(t).waitUntilReady()).catch(
          (err) => log.warn({ error: (err as Error).message, target: t }, 'submit queue not ready at start'),
        ),
      ),
    )
  })

  app.addHook('onClose', async () => {
    // Reverse of creation: queues first (they use the connection), then the connection.
    await withDeadline('queues close', 5000, deps.queues.close()).catch(() => {})
    await Promise.all(
      [redis, deps.queueRedis].map((r) =>
        withDeadline('redis quit', 2000, r.quit()).catch(() => r.disconnect()),
      ),
    )
  })

  registerDocs(app)
  app.register(healthRoutes, deps)
  app.register(metricsRoutes, deps)
  app.register(importRoutes, deps)
  app.register(batchRoutes, deps)
  app.register(adminQueuesRoutes, deps)
  return app
}
