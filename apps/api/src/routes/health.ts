import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { ApiDeps } from '../deps.js'
import { HttpProblem, Problem, withDeadline } from '../problem.js'

/** /readyz answers within this, Redis or not. */
const READY_PING_MS = 500

export const healthRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { redis, queueRedis }) => {
  app.get(
    '/livez',
    {
      config: { access: 'public' },
      schema: {
        summary: 'The process is alive',
        tags: ['health'],
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: {
        summary: 'Ready to take requests: Redis answers a PING',
        tags: ['health'],
        response: { 200: z.object({ status: z.literal('ready'), redis: z.literal('up') }), 503: Problem },
      },
    },
    async () => {
      try {
        await withDeadline('redis ping', READY_PING_MS, Promise.all([redis.ping(), queueRedis.ping()]))
      } catch (err) {
        throw new HttpProblem('unavailable', `Redis is not reachable: ${(err as Error).message}`, {
          headers: { 'retry-after': '1' },
        })
      }
      return { status: 'ready' as const, redis: 'up' as const }
    },
  )
}
