import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Logger } from '@ims-importer/core'
import type { FastifyInstance } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Principal } from './auth.js'

/** The API's Fastify instance: zod schemas as the type provider, core's logger. */
export type App = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, ZodTypeProvider>

/** Who may call a route: nobody needs a key, a tenant key, or an admin key. */
export type AccessPolicy = 'public' | 'tenant' | 'admin'

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: AccessPolicy
    /**
     * 'in-handler': the route takes its per-key rate limit itself, in the same step as its
     * admission (intake.ts), instead of in the onRequest hook.
     */
    rateLimit?: 'in-handler'
  }
  interface FastifyRequest {
    /** The caller's tenant (null on public routes). */
    tenant: string | null
    /** The caller's key (`<tenant>#<n>`, not secret), for its rate limit (null on public routes). */
    apiKeyId: string | null
    /**
     * Who the caller is (null on public routes): tenant, key id, `isAdmin` (an operator key) and
     * the tenant's policy.
     */
    principal: Principal | null
    /** Epoch ms by which this request's Redis work must be done (see REDIS_BUDGET_MS). */
    redisDeadline: number
  }
}
