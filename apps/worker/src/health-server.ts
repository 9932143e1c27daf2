import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { type AdminKeyHashes, isAdminBearer } from './metrics-auth.js'

export interface HealthDeps {
  registry: Registry
  /** True when Redis answers and the workers run. */
  ready: () => Promise<boolean>
  /**
   * METRICS_AUTH: the operator keys (ADMIN_API_KEYS) whose bearer may read /metrics, as on the
   * API; null = /metrics is open (a private network). /livez and /readyz stay open: they say
   * only whether the process is up.
   */
  metricsKeys?: AdminKeyHashes | null
}

/** /metrics, /livez and /readyz on the worker's own port (WORKER_HOST, 127.0.0.1 by default). */
export function buildHealthServer(deps: HealthDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/livez', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const ok = await deps.ready().catch(() => false)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready' })
  })
  app.get('/metrics', async (req, reply) => {
    if (deps.metricsKeys && !isAdminBearer(req.headers.authorization, deps.metricsKeys))
      return reply.code(401).header('www-authenticate', 'Bearer').type('application/problem+json').send({
        type: 'urn:ims-importer:problem:unauthorized',
        title: 'Unauthorized',
        status: 401,
        detail: 'send Authorization: Bearer <admin api key> (METRICS_AUTH is on)',
      })
    const body = await deps.registry.metrics()
    return reply.header('content-type', deps.registry.contentType).send(body)
  })
  return app
}
