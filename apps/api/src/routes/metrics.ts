import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ApiDeps } from '../deps.js'
import { Problem } from '../problem.js'

export const metricsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { metrics, config }) => {
  app.get(
    '/metrics',
    {
      config: { access: config.metricsAuth ? 'admin' : 'public' },
      schema: {
        summary: 'Prometheus metrics of this API process',
        tags: ['health'],
        ...(config.metricsAuth ? { security: [{ bearer: [] }] } : {}),
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: z.string() } },
          },
          401: Problem,
        },
      },
    },
    async (_req, reply) => {
      const text = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(text)
    },
  )
}
