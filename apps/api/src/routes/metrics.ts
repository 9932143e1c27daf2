import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { Gauge } from 'prom-client'
import { z } from 'zod'
import type { ApiDeps } from '../deps.js'
import { Problem, withDeadline } from '../problem.js'

/** A scrape waits this long for Redis's INFO; past it the Redis gauges read 0. */
const INFO_MS = 500

/** `field:value` lines of an INFO section, as numbers. */
function infoNumber(info: string, field: string): number | null {
  const match = new RegExp(`^${field}:(\\d+)\\s*$`, 'm').exec(info)
  return match ? Number(match[1]) : null
}

export const metricsRoutes: FastifyPluginAsyncZod<ApiDeps> = async (app, { metrics, config, redis }) => {
  // Redis's memory, read at scrape time (INFO memory): the alert at 80% of maxmemory
  // (docker/prometheus/alerts.yml) and the sizing rule in the README use them. Every API replica
  // reports the same Redis: take max over replicas.
  const used = new Gauge({
    name: 'ims_importer_redis_memory_used_bytes',
    help: 'Memory Redis uses (INFO memory used_memory), in bytes, read at scrape time; 0 when Redis did not answer',
    registers: [metrics.registry],
  })
  const max = new Gauge({
    name: 'ims_importer_redis_memory_max_bytes',
    help: "Redis's memory limit (INFO memory maxmemory), in bytes; 0 means no limit (then a full host fails instead of Redis refusing writes)",
    registers: [metrics.registry],
  })
  const readRedisMemory = async () => {
    try {
      const info = await withDeadline('redis info', INFO_MS, redis.info('memory'))
      const u = infoNumber(info, 'used_memory')
      const m = infoNumber(info, 'maxmemory')
      if (u === null || m === null) throw new Error('INFO memory without used_memory or maxmemory')
      used.set(u)
      max.set(m)
    } catch {
      used.reset()
      max.reset()
    }
  }

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
      await readRedisMemory()
      const text = await metrics.registry.metrics()
      return reply.type(metrics.registry.contentType).send(text)
    },
  )
}
