import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The API gateway's side of "SDK-HMAC-SHA256" (ims-api.md §4b), written independently of the
 * service's signer: the gateway rebuilds the canonical request from what it received and compares.
 */

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256'
const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export interface ReceivedRequest {
  method: string
  /** The request target as received: path plus optional `?query`, still percent-encoded. */
  url: string
  /** Header names in any case. */
  headers: Record<string, string | string[] | undefined>
  /** The exact body bytes; undefined or empty for none. */
  body?: Buffer | string
}

export interface ParsedAuthorization {
  access: string
  signedHeaders: string[]
  signature: string
}

/** RFC 3986 encoding: only A-Z a-z 0-9 - _ . ~ stay as they are; UTF-8, upper-case hex. */
export function rfc3986(value: string): string {
  let out = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte)
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

export function canonicalUri(path: string): string {
  const encoded = path
    .split('/')
    .map((segment) => rfc3986(decode(segment)))
    .join('/')
  return encoded.endsWith('/') ? encoded : `${encoded}/`
}

/**
 * Pairs sorted by the raw (decoded) key, then the raw value, in code point order, then encoded: the
 * order of Huawei's own signers (Node core AKSKSigner, Go core/auth/signer), which sort before they
 * encode. Sorting the encoded pairs differs once a character outside `A-Za-z0-9-_.~` is involved.
 */
export function canonicalQuery(query: string): string {
  if (query === '') return ''
  const pairs: Array<[string, string]> = []
  for (const part of query.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const key = eq < 0 ? part : part.slice(0, eq)
    const value = eq < 0 ? '' : part.slice(eq + 1)
    pairs.push([decode(key.replace(/\+/g, ' ')), decode(value.replace(/\+/g, ' '))])
  }
  pairs.sort(([ka, va], [kb, vb]) => compare(ka, kb) || compare(va, vb))
  return pairs.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&')
}

/** Code point order (the byte order of the UTF-8 forms). */
const compare = (a: string, b: string): number =>
  a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

function headerValue(headers: ReceivedRequest['headers'], name: string): string | undefined {
  const lower = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== lower || value === undefined) continue
    return Array.isArray(value) ? value.join(',') : value
  }
  return undefined
}

export function canonicalRequest(req: ReceivedRequest, signedHeaders: string[]): string {
  const q = req.url.indexOf('?')
  const path = q < 0 ? req.url : req.url.slice(0, q)
  const query = q < 0 ? '' : req.url.slice(q + 1)
  const names = [...signedHeaders].map((h) => h.toLowerCase()).sort()
  const headers = names.map((name) => `${name}:${(headerValue(req.headers, name) ?? '').trim()}\n`).join('')
  const supplied = headerValue(req.headers, 'x-sdk-content-sha256')
  const bodyHash =
    supplied ??
    (req.body === undefined || req.body.length === 0
      ? EMPTY_BODY_SHA256
      : createHash('sha256').update(req.body).digest('hex'))
  return [
    req.method.toUpperCase(),
    canonicalUri(path),
    canonicalQuery(query),
    headers,
    names.join(';'),
    bodyHash,
  ].join('\n')
}

export function stringToSign(canonical: string, sdkDate: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${createHash('sha256').update(canonical).digest('hex')}`
}

export function expectedSignature(req: ReceivedRequest, signedHeaders: string[], sk: string): string {
  const date = headerValue(req.headers, 'x-sdk-date') ?? ''
  return createHmac('sha256', Buffer.from(sk, 'utf8'))
    .update(stringToSign(canonicalRequest(req, signedHeaders), date))
    .digest('hex')
}

/** `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`, or null when it is not that form. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | null {
  if (header === undefined || !header.startsWith(`${SIGNING_ALGORITHM} `)) return null
  const fields = new Map<string, string>()
  for (const part of header.slice(SIGNING_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=')
    if (eq < 0) return null
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  const access = fields.get('Access')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!access || !signedHeaders || !signature) return null
  return { access, signedHeaders: signedHeaders.split(';').filter(Boolean), signature }
}

/** `YYYYMMDDTHHmmssZ` to epoch ms, or null. */
export function parseSdkDate(value: string | undefined): number | null {
  const m = value === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value)
  if (!m) return null
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[]
  const ms = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s)
  return Number.isNaN(ms) ? null : ms
}

export type SignatureCheck = 'ok' | 'malformed' | 'mismatch'

/** Compares the received signature with the one rebuilt from the request, in constant time. */
export function checkSignature(req: ReceivedRequest, auth: ParsedAuthorization, sk: string): SignatureCheck {
  const signed = auth.signedHeaders.map((h) => h.toLowerCase())
  if (!signed.includes('x-sdk-date')) return 'malformed'
  for (const name of signed) if (headerValue(req.headers, name) === undefined) return 'mismatch'
  const expected = Buffer.from(expectedSignature(req, signed, sk), 'utf8')
  const received = Buffer.from(auth.signature.toLowerCase(), 'utf8')
  return expected.length === received.length && timingSafeEqual(expected, received) ? 'ok' : 'mismatch'
}

export { headerValue }
