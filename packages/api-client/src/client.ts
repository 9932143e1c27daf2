import { STATUS_CODES } from 'node:http'
import { type Dispatcher, request } from 'undici'
import type { z } from 'zod'
import { ApiError, ApiNetworkError, ApiResponseError } from './errors.js'
import { DEFAULT_RETRY, parseRetryAfter, type RetryEvent, type RetryPolicy, withRetry } from './retry.js'
import {
  BatchCreated,
  BatchView,
  ImportPage,
  type ImportRequest,
  type ImportStatus,
  ImportView,
  type ListImportsQuery,
  ProblemDetails,
} from './types.js'

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:8080`; a path prefix is kept. */
  baseUrl: string
  /** Sent as `Authorization: Bearer <key>`; never part of an error, a message or a log line. */
  apiKey: string
  /** Retries for calls that are safe to repeat (GETs, POSTs with an Idempotency-Key). */
  retry?: Partial<RetryPolicy>
  /** Told before each retry, e.g. to print "retrying in 2 s". */
  onRetry?: (event: RetryEvent & { method: string; path: string }) => void
  /** Per-request time limit for headers and for body in ms (default 30 000). */
  timeoutMs?: number
  /** undici dispatcher (Agent, Pool); default the global one. */
  dispatcher?: Dispatcher
  userAgent?: string
  /** Replaceable for tests. */
  sleep?: (ms: number) => Promise<void>
}

export interface Replayable<T> {
  value: T
  /** True when the API answered from its idempotency record (the request had been handled before). */
  replayed: boolean
}

export interface CreateBatchInput {
  items: ImportRequest[]
  external_id?: string
}

export interface GetBatchOptions {
  /** Items per page, 1..1000. */
  limit?: number
  cursor?: string
  /** Only the items in this status (the counts and expected finish stay the whole batch's). */
  status?: ImportStatus
}

/** A typed client for the ims-importer intake API (`/v1/imports`, `/v1/batches`). */
export interface ApiClient {
  createImport(body: ImportRequest, options?: { idempotencyKey?: string }): Promise<Replayable<ImportView>>
  getImport(id: string): Promise<ImportView>
  listImports(query?: ListImportsQuery): Promise<ImportPage>
  cancelImport(id: string): Promise<ImportView>
  createBatch(
    input: CreateBatchInput,
    options?: { idempotencyKey?: string },
  ): Promise<Replayable<BatchCreated>>
  getBatch(id: string, options?: GetBatchOptions): Promise<BatchView>
}

interface Call<S extends z.ZodType> {
  method: 'GET' | 'POST'
  path: string
  query?: Record<string, string | number | undefined>
  body?: unknown
  idempotencyKey?: string
  schema: S
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const base = options.baseUrl.replace(/\/+$/, '')
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry }
  const timeoutMs = options.timeoutMs ?? 30_000
  const redact = (s: string): string =>
    options.apiKey.length >= 4 ? s.split(options.apiKey).join('[redacted]') : s

  async function once<S extends z.ZodType>(call: Call<S>): Promise<Replayable<z.output<S>>> {
    const url = new URL(`${base}${call.path}`)
    for (const [k, v] of Object.entries(call.query ?? {})) {
      if (v !== undefined && v !== '') url.searchParams.set(k, String(v))
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.apiKey}`,
      accept: 'application/json, application/problem+json',
      'user-agent': options.userAgent ?? 'ims-importer-api-client',
    }
    if (call.body !== undefined) headers['content-type'] = 'application/json'
    if (call.idempotencyKey) headers['idempotency-key'] = call.idempotencyKey

    let res: Dispatcher.ResponseData
    let text: string
    try {
      res = await request(url, {
        method: call.method,
        headers,
        body: call.body === undefined ? undefined : JSON.stringify(call.body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      })
      text = await res.body.text()
    } catch (err) {
      const code =
        typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : 'unknown'
      throw new ApiNetworkError(
        code,
        call.method,
        call.path,
        redact(`cannot reach the API at ${url.origin}: ${(err as Error).message || code}`),
      )
    }

    const header = (name: string): string | undefined => {
      const v = res.headers[name]
      return Array.isArray(v) ? v[0] : v
    }

    if (res.statusCode >= 400) {
      const problem = readProblem(text, res.statusCode)
      throw new ApiError(
        res.statusCode,
        {
          ...problem,
          title: redact(problem.title),
          ...(problem.detail ? { detail: redact(problem.detail) } : {}),
        },
        call.method,
        call.path,
        parseRetryAfter(header('retry-after')),
      )
    }

    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new ApiResponseError(call.method, call.path, `the API answered ${res.statusCode} without JSON`)
    }
    const parsed = call.schema.safeParse(json)
    if (!parsed.success) {
      const first = parsed.error.issues[0]
      throw new ApiResponseError(
        call.method,
        call.path,
        `unexpected answer from ${call.method} ${call.path}: ${first?.path.join('.') || '(body)'}: ${first?.message}`,
      )
    }
    return { value: parsed.data, replayed: header('idempotent-replayed') === 'true' }
  }

  function send<S extends z.ZodType>(call: Call<S>): Promise<Replayable<z.output<S>>> {
    // A POST without an idempotency key could create a second import when repeated.
    const safe = call.method === 'GET' || call.idempotencyKey !== undefined
    if (!safe) return once(call)
    return withRetry(() => once(call), policy, {
      onRetry: (event) => options.onRetry?.({ ...event, method: call.method, path: call.path }),
      ...(options.sleep ? { sleep: options.sleep } : {}),
    })
  }

  const id = (value: string) => encodeURIComponent(value)

  return {
    createImport: (body, opts = {}) =>
      send({
        method: 'POST',
        path: '/v1/imports',
        body,
        idempotencyKey: opts.idempotencyKey,
        schema: ImportView,
      }),
    getImport: async (importId) =>
      (await send({ method: 'GET', path: `/v1/imports/${id(importId)}`, schema: ImportView })).value,
    listImports: async (query = {}) =>
      (await send({ method: 'GET', path: '/v1/imports', query: { ...query }, schema: ImportPage })).value,
    cancelImport: async (importId) =>
      (await send({ method: 'POST', path: `/v1/imports/${id(importId)}/cancel`, schema: ImportView })).value,
    createBatch: (input, opts = {}) =>
      send({
        method: 'POST',
        path: '/v1/batches',
        body: input,
        idempotencyKey: opts.idempotencyKey,
        schema: BatchCreated,
      }),
    getBatch: async (batchId, opts = {}) =>
      (
        await send({
          method: 'GET',
          path: `/v1/batches/${id(batchId)}`,
          query: { ...opts },
          schema: BatchView,
        })
      ).value,
  }
}

function readProblem(text: string, status: number): ProblemDetails {
  try {
    const parsed = ProblemDetails.safeParse(JSON.parse(text))
    if (parsed.success) return parsed.data
  } catch {
    // not JSON: a proxy's HTML page, an empty body
  }
  return { type: 'about:blank', title: STATUS_CODES[status] ?? `HTTP ${status}`, status }
}
