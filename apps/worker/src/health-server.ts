import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

export interface HealthDeps {
  registry: Registry
  /** True when Redis answers and the workers run. */
  ready: () => Promise<boolean>
}

/** /metrics, /livez and /readyz on the worker's own port. */
export function buildHealthServer(deps: HealthDeps): FastifyInstance {
  const app = Fastify({ logger: false })
  app.get('/livez', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const ok = await deps.ready().catch(() => false)
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready' })
  })
  app.get('/metrics', async (_req, reply) => {
    const body = await deps.registry.metrics()
    return reply.header('content-type', deps.registry.contentType).send(body)
  })
  return app
}
