import { isIP, type LookupFunction } from 'node:net'
import { Agent } from 'undici'
import { type ObsCredentials, type ObsSubresource, obsEncodeKey, signObsRequest } from './obs-signer.js'

// The few OBS reads the worker's pre-flight needs (obs-api.md): HEAD of an object, the bucket's
// location and its default storage class. Signed by obs-signer.ts; one keep-alive undici Agent per
// client. An answer that says something about the bucket or object (200, 403, 404) is a value;
// an answer that says nothing (unreachable, timeout, 5xx, throttled, our credentials refused) is
// an ObsError. Messages carry the bucket, status and OBS code, never a credential.

export interface ObsClientOptions {
  /** OBS endpoint of the region, e.g. https://obs.eu-de.otc.t-systems.com. */
  endpoint: string
  credentials: ObsCredentials
  /**
   * `virtual-host` (https://<bucket>.<endpoint>/<key>, OBS's usual form) or `path`
   * (https://<endpoint>/<bucket>/<key>). Default: path for an IP address or `localhost` endpoint
   * (no DNS name for <bucket>.<host>), as esdk-obs-nodejs does, else virtual-host.
   */
  addressing?: 'virtual-host' | 'path'
  /** Whole request, headers and body (ms); default 10 000. */
  timeoutMs?: number
  /** Connect timeout (ms); default 5 000. */
  connectMs?: number
  /** Host name resolution for the sockets (default the system's); tests point bucket hosts at a local endpoint. */
  lookup?: LookupFunction
}

export type ObsErrorKind =
  /** No answer (unreachable, reset, timeout) or a 5xx: try again later. */
  | 'unavailable'
  /** 503 SlowDown or 429: OBS asks for less. */
  | 'throttled'
  /** Our credentials were refused (InvalidAccessKeyId, SignatureDoesNotMatch, RequestTimeTooSkewed ...). */
  | 'auth'
  /** Any other answer this client does not expect (400, 405 ...). */
  | 'unexpected'

export class ObsError extends Error {
  readonly kind: ObsErrorKind
  readonly status: number | null
  readonly code: string | null
  constructor(o: {
    kind: ObsErrorKind
    message: string
    status?: number | null
    code?: string | null
    cause?: unknown
  }) {
    super(o.message, o.cause === undefined ? undefined : { cause: o.cause })
    this.name = 'ObsError'
    this.kind = o.kind
    this.status = o.status ?? null
    this.code = o.code ?? null
  }
}

export const isObsError = (err: unknown): err is ObsError => err instanceof ObsError

/** A bucket or object that is not there (404) or not for these credentials (403 AccessDenied). */
export type ObsAbsent =
  | { kind: 'not-found'; code: string | null }
  | { kind: 'forbidden'; code: string | null }

export type ObsObjectHead =
  | {
      kind: 'found'
      sizeBytes: number
      /** `x-obs-storage-class`; OBS sends it only for non-Standard objects, so absent = STANDARD. */
      storageClass: string
      lastModified: string | null
    }
  | ObsAbsent

export type ObsBucketLocation = { kind: 'found'; location: string | null } | ObsAbsent
export type ObsBucketStorageClass = { kind: 'found'; storageClass: string | null } | ObsAbsent

export interface ObsClient {
  headObject(bucket: string, key: string, signal?: AbortSignal): Promise<ObsObjectHead>
  bucketLocation(bucket: string, signal?: AbortSignal): Promise<ObsBucketLocation>
  bucketStorageClass(bucket: string, signal?: AbortSignal): Promise<ObsBucketStorageClass>
  close(): Promise<void>
}

/** 403 codes that mean our request was not accepted as signed, not that the bucket is closed to us. */
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'RequestTimeTooSkewed',
  'InvalidToken',
  'ExpiredToken',
  'InvalidSecurity',
])

const xmlText = (xml: string, tag: string): string | null => {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`).exec(xml)
  return m ? (m[1] as string).trim() : null
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const v = headers[name]
  return Array.isArray(v) ? (v[0] ?? null) : (v ?? null)
}

/** One OBS request; `operation` names it in errors. Without `key` it is the bucket's (a subresource). */
interface ObsCall {
  operation: string
  method: 'GET' | 'HEAD'
  bucket: string
  key?: string
  subresource?: ObsSubresource
  signal?: AbortSignal
}

interface ObsAnswer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

export function createObsClient(options: ObsClientOptions): ObsClient {
  const endpoint = new URL(options.endpoint)
  const host = endpoint.hostname.replace(/^\[|\]$/g, '')
  const addressing =
    options.addressing ?? (isIP(host) !== 0 || host === 'localhost' ? 'path' : 'virtual-host')
  const timeoutMs = options.timeoutMs ?? 10_000
  const agent = new Agent({
    connect: { timeout: options.connectMs ?? 5_000, ...(options.lookup ? { lookup: options.lookup } : {}) },
    keepAliveTimeout: 10_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  })

  async function send(call: ObsCall): Promise<ObsAnswer> {
    const { operation, method, bucket, key = '', subresource, signal } = call
    const encodedKey = obsEncodeKey(key)
    const origin =
      addressing === 'path' ? endpoint.origin : `${endpoint.protocol}//${bucket}.${endpoint.host}`
    const path = `${addressing === 'path' ? `/${bucket}` : ''}/${encodedKey}${subresource ? `?${subresource}` : ''}`
    const headers = signObsRequest(
      { method, bucket, encodedKey, ...(subresource ? { subresource } : {}) },
      options.credentials,
    )
    const deadline = AbortSignal.timeout(timeoutMs)
    try {
      const res = await agent.request({
        origin,
        path,
        method,
        headers,
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        // undici closes the connection after every HEAD (undici#258: servers that send a body
        // with it); OBS does not, and a new connection (a TLS handshake) per pre-flight costs
        // more than the read itself.
        reset: false,
      })
      const text = await res.body.text()
      return { status: res.statusCode, headers: res.headers, text }
    } catch (err) {
      const code = (err as { code?: unknown }).code
      const why = deadline.aborted
        ? `no complete answer within ${timeoutMs} ms`
        : `request failed (${typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error'})`
      throw new ObsError({ kind: 'unavailable', message: `OBS ${operation} ${bucket}: ${why}`, cause: err })
    }
  }

  /** The answer as a value (200 / 403 / 404), or an ObsError for the rest. */
  async function read(call: ObsCall) {
    const { operation, bucket } = call
    const res = await send(call)
    if (res.status === 200) return { ok: true as const, res }
    // A HEAD has no body: the code, where OBS gives one, is in x-obs-error-code.
    const code = xmlText(res.text, 'Code') ?? header(res.headers, 'x-obs-error-code')
    const what = `OBS ${operation} ${bucket}: HTTP ${res.status}${code ? ` ${code}` : ''}`
    if (res.status === 404) return { ok: false as const, absent: { kind: 'not-found' as const, code } }
    if (res.status === 403 && !(code && CREDENTIAL_CODES.has(code)))
      return { ok: false as const, absent: { kind: 'forbidden' as const, code } }
    if (res.status === 403) throw new ObsError({ kind: 'auth', message: what, status: 403, code })
    if (res.status === 429 || (res.status === 503 && code === 'SlowDown'))
      throw new ObsError({ kind: 'throttled', message: what, status: res.status, code })
    if (res.status >= 500)
      throw new ObsError({ kind: 'unavailable', message: what, status: res.status, code })
    throw new ObsError({ kind: 'unexpected', message: what, status: res.status, code })
  }

  /** GET of a bucket's `subresource` (operation `GET <subresource>`). */
  const readBucket = (subresource: ObsSubresource, bucket: string, signal: AbortSignal | undefined) =>
    read({ operation: `GET ${subresource}`, method: 'GET', bucket, subresource, signal })

  return {
    async headObject(bucket, key, signal) {
      const r = await read({ operation: 'HEAD object', method: 'HEAD', bucket, key, signal })
      if (!r.ok) return r.absent
      const length = Number(header(r.res.headers, 'content-length'))
      if (!Number.isSafeInteger(length) || length < 0)
        throw new ObsError({ kind: 'unexpected', message: `OBS HEAD object ${bucket}: no Content-Length` })
      return {
        kind: 'found',
        sizeBytes: length,
        storageClass: header(r.res.headers, 'x-obs-storage-class') ?? 'STANDARD',
        lastModified: header(r.res.headers, 'last-modified'),
      }
    },
    async bucketLocation(bucket, signal) {
      const r = await readBucket('location', bucket, signal)
      if (!r.ok) return r.absent
      return { kind: 'found', location: xmlText(r.res.text, 'Location') }
    },
    async bucketStorageClass(bucket, signal) {
      const r = await readBucket('storageClass', bucket, signal)
      if (!r.ok) return r.absent
      return { kind: 'found', storageClass: xmlText(r.res.text, 'StorageClass') }
    },
    close: () => agent.close(),
  }
}
