import { Agent } from 'undici'
import { ImsError } from './ims-error.js'

// HTTP through one keep-alive undici Agent (IMS and IAM origins). Each request gets a deadline
// covering headers and body, combined with the caller's AbortSignal. Failures without a usable
// answer become ImsError here; HTTP error statuses are returned for the client to read.

export interface HttpRequest {
  operation: string
  method: 'GET' | 'POST'
  url: URL
  headers: Record<string, string>
  body?: string
  signal?: AbortSignal
  /** True for a request that creates something (the quick-import POST): a failure after sending is uncertain. */
  createsResource: boolean
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

export interface Transport {
  send(req: HttpRequest): Promise<HttpResponse>
  close(): Promise<void>
}

// Socket errors that mean the request never left this host.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])

// A pooled keep-alive socket the server closed while idle fails the next request with one of
// these before any answer. A GET is retried once at once; a POST never (it may have arrived).
const STALE_SOCKET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

function errorCode(err: unknown): string | null {
  let current: unknown = err
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = current.cause
  }
  return null
}

export function createTransport(options: { connectMs: number; requestMs: number }): Transport {
  const agent = new Agent({
    connect: { timeout: options.connectMs },
    keepAliveTimeout: 10_000,
    headersTimeout: options.requestMs,
    bodyTimeout: options.requestMs,
  })

  function failure(req: HttpRequest, err: unknown, phase: string, deadline: AbortSignal): ImsError {
    const code = errorCode(err)
    const callerAborted = req.signal?.aborted === true
    const notSent = code !== null && NOT_SENT_CODES.has(code)
    const what = callerAborted
      ? 'aborted by the caller'
      : deadline.aborted
        ? `no complete answer within ${options.requestMs} ms`
        : `${phase} failed (${code ?? (err instanceof Error ? err.name : 'unknown error')})`
    if (req.createsResource && !notSent) {
      return new ImsError({
        kind: 'uncertain',
        operation: req.operation,
        message: `${req.operation}: ${what} after the request may have been sent; the image may have been created`,
        cause: err,
      })
    }
    return new ImsError({
      kind: 'transient',
      operation: req.operation,
      message: `${req.operation}: ${what}`,
      cause: err,
    })
  }

  return {
    async send(req) {
      if (req.signal?.aborted) {
        throw new ImsError({
          kind: 'transient',
          operation: req.operation,
          message: `${req.operation}: aborted by the caller before sending`,
        })
      }
      const deadline = AbortSignal.timeout(options.requestMs)
      const signal = req.signal ? AbortSignal.any([req.signal, deadline]) : deadline
      let res: Awaited<ReturnType<Agent['request']>> | undefined
      for (let attempt = 1; res === undefined; attempt++) {
        try {
          res = await agent.request({
            origin: req.url.origin,
            path: `${req.url.pathname}${req.url.search}`,
            method: req.method,
            headers: req.headers,
            body: req.body ?? null,
            signal,
          })
        } catch (err) {
          const code = errorCode(err)
          const retry =
            req.method === 'GET' && attempt === 1 && !signal.aborted && STALE_SOCKET_CODES.has(code ?? '')
          if (!retry) throw failure(req, err, 'request', deadline)
        }
      }
      try {
        const text = await res.body.text()
        return { status: res.statusCode, headers: res.headers, text }
      } catch (err) {
        res.body.destroy()
        throw failure(req, err, `reading the HTTP ${res.statusCode} answer`, deadline)
      }
    },
    close: () => agent.close(),
  }
}
