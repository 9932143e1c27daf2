import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js'
import { z } from 'zod'

/** One validation error: JSON path into the request body, a plain reason, and the IMS code IMS would answer with. */
export const FieldError = z.object({
  path: z.string(),
  message: z.string(),
  ims_code: z.string().optional(),
})
export type FieldError = z.infer<typeof FieldError>

/** RFC 9457 problem details, the body of every error answer (application/problem+json). */
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    request_id: z.string().optional(),
    errors: z.array(FieldError).optional(),
    /** Batches: invalid items by index. */
    item_errors: z.array(z.object({ index: z.number().int(), errors: z.array(FieldError) })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' })
export type Problem = z.infer<typeof Problem>

export const PROBLEM_CONTENT_TYPE = 'application/problem+json'

/** Problem kinds; `type` is a URN so it never pretends to be a page that exists. */
export const problemTypes = {
  validation: { status: 400, title: 'Invalid request' },
  bad_request: { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  conflict: { status: 409, title: 'Conflict' },
  idempotency_in_progress: { status: 409, title: 'Request with this Idempotency-Key in progress' },
  body_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  idempotency_mismatch: { status: 422, title: 'Idempotency-Key reused with a different body' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const
export type ProblemKind = keyof typeof problemTypes

export const problemTypeUri = (kind: ProblemKind): string => `urn:ims-importer:problem:${kind}`

/** Thrown anywhere in a request; the one error handler turns it into a problem answer. */
export class HttpProblem extends Error {
  readonly status: number
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extra: {
      errors?: FieldError[]
      item_errors?: Problem['item_errors']
      headers?: Record<string, string>
    } = {},
  ) {
    super(detail)
    this.name = 'HttpProblem'
    this.status = problemTypes[kind].status
  }
}

/**
 * Longest detail, error message and error path of a problem (characters): every echo of input is
 * cut to ECHO_MAX where it is written; this bounds what any one text can carry all the same (a
 * path holds the body's own keys).
 */
const DETAIL_MAX = 1024
const MESSAGE_MAX = 512
const PATH_MAX = 128

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text)
const clipErrors = (errors: FieldError[]): FieldError[] =>
  errors.map((e) =>
    e.message.length > MESSAGE_MAX || e.path.length > PATH_MAX
      ? { ...e, path: clip(e.path, PATH_MAX), message: clip(e.message, MESSAGE_MAX) }
      : e,
  )

export function toProblem(p: HttpProblem, requestId?: string): Problem {
  return {
    type: problemTypeUri(p.kind),
    title: problemTypes[p.kind].title,
    status: p.status,
    detail: clip(p.detail, DETAIL_MAX),
    ...(requestId ? { request_id: requestId } : {}),
    ...(p.extra.errors ? { errors: clipErrors(p.extra.errors) } : {}),
    ...(p.extra.item_errors
      ? { item_errors: p.extra.item_errors.map((i) => ({ index: i.index, errors: clipErrors(i.errors) })) }
      : {}),
  }
}

/** Node's codes of a connection that failed or broke. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])

/** ioredis's errors of a client that cannot send; they carry no type or code of their own. */
const IOREDIS_DOWN_MESSAGES = ["Stream isn't writeable", 'Connection is closed', 'Command timed out']

/** An error that means Redis could not be reached (rather than a bug): answered with 503. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err instanceof DeadlineExceededError || err instanceof MaxRetriesPerRequestError) return true
  const code = (err as NodeJS.ErrnoException).code
  if (code !== undefined && CONNECTION_CODES.has(code)) return true
  return IOREDIS_DOWN_MESSAGES.some((m) => err.message.includes(m))
}

/**
 * Redis refused a write because it reached `maxmemory` (policy noeviction): `OOM command not
 * allowed when used memory > 'maxmemory'`, as a command's reply or from inside a script.
 */
export function isRedisOutOfMemory(err: unknown): boolean {
  return err instanceof Error && /\bOOM command not allowed\b/.test(err.message)
}

/** The 503 of a store that is full: nothing was written; an operator must make room. */
export function storeFullProblem(): HttpProblem {
  return new HttpProblem(
    'unavailable',
    'the service cannot store anything right now: its Redis is out of memory (maxmemory reached); nothing was accepted, retry later',
    { headers: { 'retry-after': '30' } },
  )
}

/** Longest piece of a caller's input quoted back in an error (characters). */
export const ECHO_MAX = 64

/** A caller's input as quoted in an error: at most ECHO_MAX characters, then "…". */
export const echo = (value: string): string => clip(value, ECHO_MAX)

export class DeadlineExceededError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not finish within ${ms} ms`)
    this.name = 'DeadlineExceededError'
  }
}

/**
 * Bounds one Redis-backed step so a caller always gets an answer in time even when a
 * connection hangs instead of failing (the fail-fast client covers most cases by itself).
 */
export function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  // One promise and one timer per call (not a race of two): this runs a few times per request.
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineExceededError(what, ms)), ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (err: unknown) => {
        clearTimeout(timer)
        reject(err)
      },
    )
  })
}

/** Milliseconds left until `deadline` (epoch ms), at least 1. */
export const remainingMs = (deadline: number): number => Math.max(1, deadline - Date.now())

/** The 429 problem for a refused request, with a Retry-After in whole seconds (at least 1). */
export function rateLimitedProblem(retryAfterMs: number, perMinute: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000))
  return new HttpProblem('rate_limited', `rate limit of ${perMinute} requests per minute reached`, {
    headers: { 'retry-after': String(seconds) },
  })
}

/** A route's `response` schemas for the problem answers it may give. */
export const problemResponses = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Problem]))
