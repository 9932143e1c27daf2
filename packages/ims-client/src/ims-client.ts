import { z } from 'zod'
import { classifyError, errorReason, isTokenRefreshAnswer, isUncertainSubmitAnswer } from './error-classes.js'
import { parseErrorBody, parseRetryAfter } from './error-response.js'
import { ImsError } from './ims-error.js'
import { createRedactor } from './redaction.js'
import {
  JobResponse,
  ListImagesResponse,
  QuickImportResponse,
  QuotaResponse,
  TokenResponse,
  toImsImage,
  toImsImageQuota,
  toImsJob,
} from './responses.js'
import { encodeRfc3986, signRequest } from './signer.js'
import { createTokenSource, type IssuedToken } from './token-source.js'
import { createTransport, type HttpResponse } from './transport.js'
import type { ImsClient, ImsClientOptions, ImsOperation, ListImagesQuery, RequestOptions } from './types.js'

const DEFAULT_CONNECT_MS = 5_000
const DEFAULT_REQUEST_MS = 30_000
const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 60 * 60 * 1000
const IAM_CONTENT_TYPE = 'application/json;charset=utf8'
const IMS_CONTENT_TYPE = 'application/json'
const LIST_QUERY_KEYS = [
  '__imagetype',
  'id',
  'name',
  'status',
  'tag',
  'created_at',
  'limit',
  'marker',
] as const satisfies readonly (keyof ListImagesQuery)[]

interface Call {
  operation: ImsOperation
  method: 'GET' | 'POST'
  url: URL
  body?: string
  signal?: AbortSignal | undefined
}

function trimTrailingSlashes(url: string): string {
  return url.replace(/\/+$/, '')
}

function header(res: HttpResponse, name: string): string | null {
  const value = res.headers[name]
  return (Array.isArray(value) ? value[0] : value) ?? null
}

/** The IMS/IAM client; see ImsClient. Only endpoints and credentials differ between the simulator and a real cloud. */
export function createImsClient(options: ImsClientOptions): ImsClient {
  const imsBase = trimTrailingSlashes(options.imsEndpoint)
  const iamBase = trimTrailingSlashes(options.iamEndpoint).replace(/\/v3$/, '')
  const { auth, projectId } = options
  // Where a job's status is read: HWC's ShowJobProgress takes the job id alone (ims-api.md §1).
  const jobPath =
    options.cloud === 'hwc'
      ? (jobId: string) => `/v1/cloudimages/job/${encodeRfc3986(jobId)}`
      : (jobId: string) => `/v1/${encodeRfc3986(projectId)}/jobs/${encodeRfc3986(jobId)}`
  const transport = createTransport({
    connectMs: options.timeouts?.connectMs ?? DEFAULT_CONNECT_MS,
    requestMs: options.timeouts?.requestMs ?? DEFAULT_REQUEST_MS,
  })
  const redactor = createRedactor()
  if (auth.type === 'token') redactor.add(auth.password)
  else {
    redactor.add(auth.sk)
    redactor.add(auth.securityToken)
  }

  function report(operation: string, status: number | null, code: string | null, startedAt: number): void {
    try {
      options.onResponse?.({ operation, status, code, durationMs: performance.now() - startedAt })
    } catch {
      // A metrics callback must never break an IMS call.
    }
  }

  /** Sends one request; returns 2xx answers, throws ImsError for everything else. */
  async function exchange(call: Call, headers: Record<string, string>): Promise<HttpResponse> {
    const startedAt = performance.now()
    let res: HttpResponse
    try {
      res = await transport.send({
        operation: call.operation,
        method: call.method,
        url: call.url,
        headers,
        body: call.body,
        signal: call.signal,
        createsResource: call.operation === 'quickImport',
      })
    } catch (err) {
      report(call.operation, null, null, startedAt)
      throw err
    }
    if (res.status >= 200 && res.status < 300) {
      report(call.operation, res.status, null, startedAt)
      return res
    }
    const details = parseErrorBody(res.text, header(res, 'x-request-id'))
    report(call.operation, res.status, details.code, startedAt)
    const uncertain = call.operation === 'quickImport' && isUncertainSubmitAnswer(res.status, details.code)
    const what = [details.code, details.message].filter((part) => part !== null).join(': ')
    throw new RejectedCall(
      new ImsError({
        kind: uncertain ? 'uncertain' : classifyError(res.status, details.code),
        reason: errorReason(details.code),
        operation: call.operation,
        status: res.status,
        code: details.code,
        requestId: details.requestId,
        retryAfterMs: parseRetryAfter(header(res, 'retry-after'), Date.now()),
        message: redactor.redact(
          `${call.operation}: HTTP ${res.status}${what === '' ? '' : ` ${what}`}${uncertain ? '; the image may have been created' : ''}`,
        ),
      }),
      details.message,
    )
  }

  function parseBody<S extends z.ZodType>(call: Call, res: HttpResponse, schema: S): z.output<S> {
    let json: unknown
    let problem: string
    try {
      json = JSON.parse(res.text)
      const parsed = schema.safeParse(json)
      if (parsed.success) return parsed.data
      problem = `unexpected answer shape: ${z.prettifyError(parsed.error).replace(/\s+/g, ' ')}`
    } catch {
      problem = `answer is not JSON (${res.text.length} bytes)`
    }
    const uncertain = call.operation === 'quickImport'
    throw new ImsError({
      kind: uncertain ? 'uncertain' : 'transient',
      operation: call.operation,
      status: res.status,
      requestId: header(res, 'x-request-id'),
      message: redactor.redact(
        `${call.operation}: HTTP ${res.status} ${problem}${uncertain ? '; the image may have been created' : ''}`,
      ),
    })
  }

  async function issueToken(): Promise<IssuedToken> {
    if (auth.type !== 'token') throw new Error('unreachable: token requested with AK/SK auth')
    const call: Call = {
      operation: 'auth',
      method: 'POST',
      url: new URL(`${iamBase}/v3/auth/tokens?nocatalog=true`),
    }
    call.body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: auth.username, password: auth.password, domain: { name: auth.domainName } },
          },
        },
        scope: { project: { id: projectId } },
      },
    })
    let res: HttpResponse
    try {
      res = await exchange(call, { host: call.url.host, 'content-type': IAM_CONTENT_TYPE })
    } catch (err) {
      throw err instanceof RejectedCall ? err.error : err
    }
    const token = header(res, 'x-subject-token')
    const body = parseBody(call, res, TokenResponse)
    const expiresAt = Date.parse(body.token.expires_at)
    const issuedAt = body.token.issued_at === undefined ? Date.now() : Date.parse(body.token.issued_at)
    if (token === null || token === '' || Number.isNaN(expiresAt) || Number.isNaN(issuedAt)) {
      throw new ImsError({
        kind: 'transient',
        operation: 'auth',
        status: res.status,
        requestId: header(res, 'x-request-id'),
        message: `auth: HTTP ${res.status} without ${token ? 'a readable token.expires_at/issued_at' : 'an X-Subject-Token header'}`,
      })
    }
    redactor.add(token)
    return { token, lifetimeMs: expiresAt - issuedAt }
  }

  const tokens =
    auth.type === 'token'
      ? createTokenSource({
          issue: issueToken,
          marginMs: options.tokenRefreshMarginMs ?? DEFAULT_TOKEN_REFRESH_MARGIN_MS,
        })
      : null

  function signedHeaders(call: Call): Record<string, string> {
    if (auth.type !== 'aksk') throw new Error('unreachable: signing with token auth')
    const headers: Record<string, string> = { host: call.url.host, 'x-project-id': projectId }
    if (call.body !== undefined) headers['content-type'] = IMS_CONTENT_TYPE
    if (auth.securityToken !== undefined) headers['x-security-token'] = auth.securityToken
    const added = signRequest(
      { method: call.method, url: call.url.toString(), headers, body: call.body },
      { ak: auth.ak, sk: auth.sk },
      new Date(),
    )
    return { ...headers, ...added }
  }

  /** An IMS call with auth; with token auth, one refresh-and-retry when IMS says the token must be updated. */
  async function callIms<S extends z.ZodType>(call: Call, schema: S): Promise<z.output<S>> {
    if (tokens === null) {
      try {
        return parseBody(call, await exchange(call, signedHeaders(call)), schema)
      } catch (err) {
        throw err instanceof RejectedCall ? err.error : err
      }
    }
    for (let attempt = 1; ; attempt++) {
      const token = await tokens.get()
      const headers: Record<string, string> = { host: call.url.host, 'x-auth-token': token }
      if (call.body !== undefined) headers['content-type'] = IMS_CONTENT_TYPE
      try {
        return parseBody(call, await exchange(call, headers), schema)
      } catch (err) {
        if (!(err instanceof RejectedCall)) throw err
        const { status, code } = err.error
        if (attempt === 1 && isTokenRefreshAnswer(status, code, err.serverMessage)) {
          tokens.invalidate(token)
          continue
        }
        throw err.error
      }
    }
  }

  return {
    async quickImport(body, opts?: RequestOptions) {
      const call: Call = {
        operation: 'quickImport',
        method: 'POST',
        url: new URL(`${imsBase}/v2/cloudimages/quickimport/action`),
        body: JSON.stringify(body),
        signal: opts?.signal,
      }
      const parsed = await callIms(call, QuickImportResponse)
      return { jobId: parsed.job_id }
    },

    async getJob(jobId, opts?: RequestOptions) {
      if (jobId === '') {
        throw new ImsError({ kind: 'permanent', operation: 'getJob', message: 'getJob: empty job id' })
      }
      const call: Call = {
        operation: 'getJob',
        method: 'GET',
        url: new URL(`${imsBase}${jobPath(jobId)}`),
        signal: opts?.signal,
      }
      return toImsJob(jobId, await callIms(call, JobResponse))
    },

    async listImages(query, opts?: RequestOptions) {
      const pairs: string[] = []
      for (const key of LIST_QUERY_KEYS) {
        const value = query[key]
        if (value !== undefined) pairs.push(`${encodeRfc3986(key)}=${encodeRfc3986(String(value))}`)
      }
      const search = pairs.length === 0 ? '' : `?${pairs.join('&')}`
      const call: Call = {
        operation: 'listImages',
        method: 'GET',
        url: new URL(`${imsBase}/v2/cloudimages${search}`),
        signal: opts?.signal,
      }
      const parsed = await callIms(call, ListImagesResponse)
      return { images: parsed.images.map(toImsImage) }
    },

    async getImageQuota(opts?: RequestOptions) {
      const call: Call = {
        operation: 'getQuota',
        method: 'GET',
        url: new URL(`${imsBase}/v1/cloudimages/quota`),
        signal: opts?.signal,
      }
      return toImsImageQuota(await callIms(call, QuotaResponse))
    },

    close: () => transport.close(),
  }
}

/** An HTTP error answer, carried with the server's own message so the token-refresh rule can read it. */
class RejectedCall extends Error {
  constructor(
    readonly error: ImsError,
    readonly serverMessage: string | null,
  ) {
    super(error.message)
  }
}
