import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { FastifyAdapter } from '@bull-board/fastify'
import { queueNames } from '@ims-importer/core'
import { Queue } from 'bullmq'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { bearerToken } from '../auth.js'
import type { ApiDeps } from '../deps.js'
import { HttpProblem, PROBLEM_CONTENT_TYPE, toProblem } from '../problem.js'

/** Where the queue UI lives: its page, its API (`/api/...`) and its static files (`/static/...`). */
export const ADMIN_QUEUES_PATH = '/admin/queues'

/** The realm a browser shows in its sign-in prompt. */
const REALM = 'ims-importer queues'

/**
 * The board's writing routes that ADMIN_QUEUES_WRITE opens: retry and clean, of one job or of a
 * queue's jobs in one state. Everything else that writes (pause, empty, obliterate, add, edit,
 * promote, schedulers, rate limit, concurrency) stays closed even then: the worker pauses and
 * rate-limits the submit queues itself, and a job added or edited by hand bypasses admission.
 */
const WRITABLE_ROUTES = new Set(
  [
    '/api/queues/:queueName/retry/:queueStatus',
    '/api/queues/:queueName/clean/:queueStatus',
    '/api/queues/:queueName/:jobId/retry',
    '/api/queues/:queueName/:jobId/clean',
  ].map((r) => `${ADMIN_QUEUES_PATH}${r}`),
)

/**
 * The key a request presents: `Authorization: Bearer <key>` (scripts, curl) or HTTP Basic with
 * the key as the password and any user name (a browser: it cannot send a bearer header on a
 * page load, and after one prompt it sends Basic on every request under /admin/queues/ itself).
 */
export function presentedKey(header: string | undefined): string | null {
  const bearer = bearerToken(header)
  if (bearer) return bearer
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '')
  if (!basic?.[1]) return null
  const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const password = colon >= 0 ? decoded.slice(colon + 1) : ''
  return password === '' ? null : password
}

/**
 * bull-board (https://github.com/felixmosh/bull-board) at /admin/queues, for admin keys
 * (ADMIN_API_KEYS) only: every configured target's submit and poll queues, the callback queue and
 * the reconciler's queue, all in this API's namespace. Read-only unless ADMIN_QUEUES_WRITE, and
 * then only retry and clean (WRITABLE_ROUTES).
 *
 * The app's onRequest hook knows bearer keys only, so the board's routes are `public` to it and
 * this scope's own hook decides: 401 with `WWW-Authenticate: Basic` for no key or a non-admin
 * key, on the page, the API and the static files alike. The routes are hidden from the OpenAPI
 * document. It answers the 401 itself: bull-board sets its own error handler on its routes.
 * The writes it may allow are PUTs: another site cannot make a browser send one with the Basic
 * credentials it holds without a CORS preflight, which this API does not answer.
 */
export const adminQueuesRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  const { config, targets, queues, keys, queueRedis } = deps
  const write = config.adminQueuesWrite
  // deps.authenticate: the admin keys as of each request (a reloaded tenants file's `admins` included).
  const { authenticate } = deps

  // The reconciler's queue is not one the API adds to: opened here on the API's queue connection
  // and namespace, as createQueues opens the others.
  const reconcile = new Queue(queueNames.reconcile, { connection: queueRedis, prefix: keys.bullPrefix })
  reconcile.on('error', () => {}) // connection errors surface in the board's answers and /readyz
  app.addHook('onClose', async () => {
    await reconcile.close()
  })

  const shown = [...targets.flatMap((t) => [queues.submit(t), queues.poll(t)]), queues.callback(), reconcile]
  const serverAdapter = new FastifyAdapter().setBasePath(ADMIN_QUEUES_PATH)
  createBullBoard({
    queues: shown.map((q) => new BullMQAdapter(q, { readOnlyMode: !write, allowRetries: write })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'ims-importer queues' } },
  })

  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'public' }
    route.schema = { ...route.schema, hide: true }
  })

  const refuse = (req: FastifyRequest, reply: FastifyReply, problem: HttpProblem) =>
    reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(toProblem(problem, req.id))

  app.addHook('onRequest', async (req, reply) => {
    const token = presentedKey(req.headers.authorization)
    const key = token ? authenticate(token, true) : null
    if (!key) {
      reply.header('www-authenticate', `Basic realm="${REALM}", charset="UTF-8"`)
      return refuse(
        req,
        reply,
        new HttpProblem(
          'unauthorized',
          'the queue UI needs an admin key: Authorization: Bearer <key>, or Basic with the key as password',
        ),
      )
    }
    req.tenant = key.tenant
    req.apiKeyId = key.keyId
    if (req.method === 'GET' || req.method === 'HEAD') return
    if (write && WRITABLE_ROUTES.has(req.routeOptions.url ?? '')) return
    return refuse(
      req,
      reply,
      new HttpProblem(
        'forbidden',
        write
          ? 'the queue UI may only retry and clean jobs'
          : 'the queue UI is read-only; ADMIN_QUEUES_WRITE=true allows retry and clean',
      ),
    )
  })

  // bull-board's page links its fonts from Google Fonts: each admin's browser would ask a third
  // party for them (and tell it who looks at the board, an address under the GDPR). The link goes:
  // the board falls back to the system fonts. Anything else it loads is served from here.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html'))
      return payload
    return payload.replace(THIRD_PARTY_LINK, '')
  })

  await app.register(serverAdapter.registerPlugin(), { prefix: ADMIN_QUEUES_PATH })
}

/** A `<link>` to a stylesheet of another origin (bull-board's Google Fonts). */
const THIRD_PARTY_LINK = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>\s*/gi
