import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Authenticator } from './auth.js'
import { gatewayBody, imsFailure } from './error-bodies.js'
import { IMS_OPERATIONS, type Operation, type RequestLogEntry, type SimulatorSettings } from './options.js'
import type { Rng } from './rng.js'
import { describeWindow, type RateLimiter, type Traffic } from './traffic.js'

/** What the gateway decided for one request before the backend saw it. */
interface RequestContext {
  op: Operation
  entry: RequestLogEntry
  resetAfter: boolean
  malformed: boolean
}

export interface GatewayDeps {
  settings: SimulatorSettings
  rng: Rng
  traffic: Traffic
  limiter: RateLimiter
  auth: Authenticator
}

export interface RouteGateway {
  onRequest: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  preHandler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  onResponse: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

/**
 * The API gateway in front of IMS and IAM, as hooks for one operation's routes: request log and
 * counters, reset-before faults and sliding-window rate limits on arrival; then latency, 429 storms,
 * 5xx faults and authentication once the body has been read; reset-after and malformed-JSON faults
 * when the backend answers (see `respond`).
 */
export function createGateway(deps: GatewayDeps) {
  const { settings, rng, traffic, limiter, auth } = deps
  const contexts = new WeakMap<FastifyRequest, RequestContext>()

  const faultsApply = (op: Operation) => (settings.faults.operations ?? IMS_OPERATIONS).includes(op)
  const draw = (rate: number | undefined) => rate !== undefined && rate > 0 && rng.next() < rate

  const destroy = (request: FastifyRequest, reply: FastifyReply, ctx: RequestContext) => {
    reply.hijack()
    request.raw.socket?.destroy()
    traffic.answered(ctx.entry, 0)
    return reply
  }

  const throttled = (op: Operation, request: FastifyRequest, reply: FastifyReply) => {
    const limit = settings.rateLimits[op] ?? { limit: 1, windowMs: 1000 }
    if (settings.retryAfterSeconds !== null) reply.header('retry-after', String(settings.retryAfterSeconds))
    const message = `The throttling threshold has been reached: policy user over ratelimit,limit:${limit.limit},time:${describeWindow(limit.windowMs)}`
    return reply.code(429).send(gatewayBody('APIG.0308', message, request.id))
  }

  const serverError = (request: FastifyRequest, reply: FastifyReply) => {
    if (rng.next() < 0.5) {
      return reply.code(500).send(gatewayBody('APIG.0601', 'Internal server error', request.id))
    }
    return reply.code(503).send(imsFailure('IMG.0061').body)
  }

  function forOperation(op: Operation, pathProjectId?: (request: FastifyRequest) => string): RouteGateway {
    return {
      async onRequest(request, reply) {
        const entry: RequestLogEntry = { op, at: Date.now(), status: 0 }
        const ctx: RequestContext = { op, entry, resetAfter: false, malformed: false }
        contexts.set(request, ctx)
        traffic.received(entry)
        if (faultsApply(op) && draw(settings.faults.resetBeforeRate)) return destroy(request, reply, ctx)
        const limit = settings.rateLimits[op]
        if (limit && !limiter.admit(op, limit, entry.at)) return throttled(op, request, reply)
        return undefined
      },
      async preHandler(request, reply) {
        const ctx = contexts.get(request)
        if (!ctx) return undefined
        if (faultsApply(op)) {
          const { latencyMs, throttleRate, errorRate, resetAfterRate, malformedJsonRate } = settings.faults
          if (latencyMs !== undefined && latencyMs > 0) await sleep(latencyMs)
          if (draw(throttleRate)) return throttled(op, request, reply)
          if (draw(errorRate)) return serverError(request, reply)
          ctx.resetAfter = draw(resetAfterRate)
          ctx.malformed = draw(malformedJsonRate)
        }
        if (op === 'auth') return undefined
        const outcome = auth.check(
          {
            method: request.method,
            url: request.raw.url ?? request.url,
            headers: request.headers,
            body: rawBody(request),
          },
          pathProjectId ? pathProjectId(request) : null,
          Date.now(),
        )
        if (!outcome.ok) return reply.code(401).send(gatewayBody(outcome.code, outcome.message, request.id))
        return undefined
      },
      async onResponse(request, reply) {
        const ctx = contexts.get(request)
        if (ctx && ctx.entry.status === 0) traffic.answered(ctx.entry, reply.statusCode)
      },
    }
  }

  /** Sends the backend's answer, unless a reset-after or malformed-JSON fault was drawn for this request. */
  function respond(request: FastifyRequest, reply: FastifyReply, status: number, body: unknown) {
    const ctx = contexts.get(request)
    if (ctx?.resetAfter) return destroy(request, reply, ctx)
    if (ctx?.malformed && status === 200) {
      // A proper prefix of a JSON object is never valid JSON.
      const text = JSON.stringify(body)
      return reply
        .code(200)
        .type('application/json')
        .send(text.slice(0, Math.max(1, Math.floor(text.length / 2))))
    }
    return reply.code(status).send(body)
  }

  /** Records the import marker a request carried, for the request log. */
  function noteMarker(request: FastifyRequest, marker: string | undefined) {
    const ctx = contexts.get(request)
    if (ctx && marker !== undefined) ctx.entry.marker = marker
  }

  return { forOperation, respond, noteMarker }
}

export type Gateway = ReturnType<typeof createGateway>

/** The exact request bytes (the catch-all content parser keeps them as a Buffer). */
export function rawBody(request: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(request.body) ? request.body : undefined
}
