import type { FastifyReply, FastifyRequest } from 'fastify'

/** Values a request adds to its log line (an import or batch id, counts). */
export type LogTags = Record<string, string | number | boolean>

declare module 'fastify' {
  interface FastifyRequest {
    /** Fields this request adds to its one "request completed" line and to any warning it logs. */
    logTags: LogTags | null
  }
}

/** Adds fields (an import or batch id) to this request's log line and to any warning it logs. */
export function tagLog(req: FastifyRequest, fields: LogTags): void {
  req.logTags = req.logTags ? Object.assign(req.logTags, fields) : { ...fields }
}

/**
 * The request's logger with its tenant and tags bound, for the rare lines a request logs besides
 * its "request completed" (warnings, errors). Made on demand: most requests never need it.
 */
export function requestLog(req: FastifyRequest): FastifyRequest['log'] {
  return req.log.child({
    request_id: req.id,
    ...(req.tenant !== null ? { tenant: req.tenant } : {}),
    ...req.logTags,
  })
}

/**
 * The one line per request, at info: method, route template, status, duration, request id,
 * tenant and the request's tags. Never headers or bodies.
 */
export function logCompleted(req: FastifyRequest, reply: FastifyReply): void {
  const line: Record<string, unknown> = {
    request_id: req.id,
    method: req.method,
    route: req.routeOptions.url ?? 'unmatched',
    status_code: reply.statusCode,
    duration_ms: Math.round(reply.elapsedTime * 100) / 100,
  }
  if (req.tenant !== null) line.tenant = req.tenant
  if (req.logTags !== null) Object.assign(line, req.logTags)
  req.log.info(line, 'request completed')
}
