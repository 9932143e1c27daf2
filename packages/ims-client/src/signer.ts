import { createHash, createHmac } from 'node:crypto'

// AK/SK request signing, "SDK-HMAC-SHA256" (ims-api.md §4b), as the Huawei Cloud Go SDK
// (core/auth/signer/signer.go) does it: no credential scope, no key derivation.

const ALGORITHM = 'SDK-HMAC-SHA256'
const DATE_HEADER = 'x-sdk-date'
const CONTENT_SHA256_HEADER = 'x-sdk-content-sha256'

export interface SignableRequest {
  method: string
  url: string
  headers: Record<string, string>
  body?: string | Uint8Array
}

/** Percent-encodes with RFC 3986 "unreserved" semantics: only `A-Z a-z 0-9 - _ . ~` stay as they are. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** `YYYYMMDDTHHmmssZ` in UTC, the X-Sdk-Date format. */
export function formatSdkDate(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Each path segment encoded, joined by `/`, always ending in `/` (only the signed form gets the slash). */
export function canonicalUri(pathname: string): string {
  const uri = pathname
    .split('/')
    .map((segment) => encodeRfc3986(safeDecode(segment)))
    .join('/')
  return uri.endsWith('/') ? uri : `${uri}/`
}

/**
 * Sorted by the raw (decoded) key, then the raw value, in code point order (UTF-8 bytes); then each
 * key and value RFC 3986-encoded and `k=v` joined by `&`. Huawei's official signers (Node core
 * AKSKSigner, Go core/auth/signer) sort the raw names and values before encoding them; sorting the
 * encoded pairs gives another order as soon as a key or value holds a character outside
 * `A-Za-z0-9-_.~` (e.g. `é` sorts after `z` raw, but `%C3%A9` sorts before it).
 */
export function canonicalQueryString(search: string): string {
  const pairs = [...new URLSearchParams(search)]
  pairs.sort(([ka, va], [kb, vb]) => compareRaw(ka, kb) || compareRaw(va, vb))
  return pairs.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join('&')
}

/** Code point order, which is the byte order of the UTF-8 forms (Go's string order). */
function compareRaw(a: string, b: string): number {
  return a === b ? 0 : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/**
 * Signs a request with AK/SK. Pure: the result depends only on the arguments.
 *
 * Every header the caller passes is signed, except names containing `_` (the Go SDK skips them;
 * gateways may drop such headers). `X-Sdk-Date` is taken from the headers when present, otherwise
 * formatted from `date`. Send every signed header with exactly the value passed here.
 *
 * @returns the headers to add to the request: `X-Sdk-Date` and `Authorization`.
 */
export function signRequest(
  req: SignableRequest,
  credentials: { ak: string; sk: string },
  date: Date,
): Record<string, string> {
  const url = new URL(req.url)
  const headers = new Map<string, string>()
  for (const [name, value] of Object.entries(req.headers)) {
    const lower = name.toLowerCase()
    if (lower.includes('_')) continue
    headers.set(lower, value.trim())
  }
  const sdkDate = headers.get(DATE_HEADER) ?? formatSdkDate(date)
  headers.set(DATE_HEADER, sdkDate)

  const signedNames = [...headers.keys()].sort()
  const canonicalHeaders = signedNames.map((name) => `${name}:${headers.get(name)}\n`).join('')
  const signedHeaders = signedNames.join(';')
  const bodyHash = headers.get(CONTENT_SHA256_HEADER) ?? sha256Hex(req.body ?? '')

  const canonicalRequest = [
    req.method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQueryString(url.search),
    canonicalHeaders,
    signedHeaders,
    bodyHash,
  ].join('\n')
  const stringToSign = `${ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`
  const signature = createHmac('sha256', credentials.sk).update(stringToSign).digest('hex')

  return {
    'X-Sdk-Date': sdkDate,
    Authorization: `${ALGORITHM} Access=${credentials.ak}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  }
}
